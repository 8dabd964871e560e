import numpy as np
import pytest

from fashionrec.model.inference import LOG_PROB_FLOOR, Encoder


@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    return Encoder.load(tiny_model_dir, "cpu", batch_size=8)


def test_encode_returns_every_vector_with_shapes_from_the_vocabulary(encoder, tiny_catalog):
    out = encoder.encode(tiny_catalog.images[:10])
    assert out.attributes.shape == (10, 3, 8)
    np.testing.assert_array_equal(out.whole, out.attributes.reshape(10, -1))
    assert out.outfit.shape == (10, 4)
    np.testing.assert_allclose(np.linalg.norm(out.outfit, axis=-1), 1.0, rtol=1e-5)
    assert out.labels.shape == out.confidences.shape == (10, 3)
    vocab = tiny_catalog.vocabulary
    assert out.log_probs.shape == (10, vocab.total_values)
    for a, offset in enumerate(vocab.offsets):
        block = out.log_probs[:, offset:offset + len(vocab.attributes[a].values)]
        assert (block >= LOG_PROB_FLOOR).all() and (block <= 0).all()
        # The argmax of the posteriors is the predicted label; its probability the confidence.
        np.testing.assert_array_equal(block.argmax(1), out.labels[:, a])
        np.testing.assert_allclose(np.exp(block.max(1)), out.confidences[:, a], rtol=1e-5)
    for a, attribute in enumerate(tiny_catalog.vocabulary.attributes):
        assert 0 <= out.labels[:, a].min() and out.labels[:, a].max() < len(attribute.values)
    assert ((out.confidences > 0) & (out.confidences <= 1)).all()


def test_encoding_is_deterministic_and_independent_of_batching(encoder, tiny_model_dir, tiny_catalog):
    images = tiny_catalog.images[:20]
    first, second = encoder.encode(images), encoder.encode(images)
    np.testing.assert_array_equal(first.whole, second.whole)
    one_batch = Encoder.load(tiny_model_dir, "cpu", batch_size=64).encode(images)
    np.testing.assert_allclose(first.whole, one_batch.whole, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(first.labels, one_batch.labels)


def test_any_image_size_is_resized_to_the_model_input(encoder, tiny_catalog):
    large = np.repeat(np.repeat(tiny_catalog.images[:4], 3, axis=1), 3, axis=2)  # 48×48
    assert encoder.encode(large).whole.shape == (4, 24)


def test_empty_batches_and_wrong_dtypes(encoder):
    assert encoder.encode(np.zeros((0, 16, 16, 3), np.uint8)).whole.shape == (0, 24)
    with pytest.raises(ValueError, match="uint8"):
        encoder.encode(np.zeros((1, 16, 16, 3), np.float32))


def test_cuda_is_refused_where_there_is_none(tiny_model_dir):
    import torch

    from fashionrec.errors import InvalidArgument

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InvalidArgument, match="no CUDA"):
        Encoder.load(tiny_model_dir, "cuda")


def test_bfloat16_on_the_cpu_stays_close_to_float32(tiny_catalog):
    # EncoderSettings.cpu_bfloat16: the shipped model under CPU bfloat16 autocast must give the
    # same labels and nearly the same vectors (measured: every chunk and style embedding within
    # cosine 0.9995 on random images; the bound here leaves room for other CPUs' kernels).
    from fashionrec.paths import default_model_dir

    images = tiny_catalog.images[:32]
    exact = Encoder.load(default_model_dir(), "cpu", batch_size=16)
    fast = Encoder.load(default_model_dir(), "cpu", batch_size=16, cpu_bfloat16=True)
    assert not exact.cpu_bfloat16
    a, b = exact.encode(images), fast.encode(images)

    def cosine(x, y):
        return (x * y).sum(-1) / np.linalg.norm(x, axis=-1) / np.linalg.norm(y, axis=-1)

    assert cosine(a.attributes, b.attributes).min() > 0.99
    assert cosine(a.outfit, b.outfit).min() > 0.99
    assert (a.labels == b.labels).mean() >= 0.95
    assert a.attributes.dtype == b.attributes.dtype == np.float32
