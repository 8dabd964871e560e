import numpy as np
import torch

from fashionrec.model.preprocessing import normalise, resize_uint8


def test_resize_gives_contiguous_nchw_uint8_of_the_model_size():
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 48, 3), dtype=np.uint8)
    out = resize_uint8(images, 32)
    assert out.shape == (2, 3, 32, 32) and out.dtype == torch.uint8
    # Not channels_last: CPU conv backward on channels_last inputs crashed torch.
    assert out.is_contiguous()


def test_resize_of_a_uniform_image_keeps_its_colour():
    images = np.zeros((1, 20, 20, 3), np.uint8)
    images[..., 0] = 200
    out = resize_uint8(images, 8)
    assert out[0, 0].unique().tolist() == [200] and out[0, 1:].unique().tolist() == [0]


def test_normalise_maps_uint8_to_standardised_floats():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    out = normalise(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]))
