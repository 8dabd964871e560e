import torch

from fashionrec.model.memory import PrototypeMemory, block_mask, manipulation_indicator, multi_hot
from fashionrec.vocab import UNKNOWN, Vocabulary

VOCAB = Vocabulary.from_mapping({"category": ["top", "shoe"], "color": ["red", "blue", "green"]})


def test_block_mask_puts_each_attribute_in_its_rows_and_columns():
    mask = block_mask(VOCAB, attribute_dim=2)
    assert mask.tolist() == [
        [1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 1],
    ]


def test_multi_hot_skips_unknown_labels():
    labels = torch.tensor([[1, 2], [0, UNKNOWN]])
    assert multi_hot(labels, VOCAB).tolist() == [[0, 1, 0, 0, 1], [1, 0, 0, 0, 0]]


def test_indicator_marks_current_and_target_of_changed_attributes_only():
    current = torch.tensor([[0, 0], [1, 2]])
    target = torch.tensor([[0, 2], [0, 2]])
    assert manipulation_indicator(current, target, VOCAB).tolist() == [
        [0, 0, -1, 0, 1],
        [1, -1, 0, 0, 0],
    ]


def test_initialise_averages_each_value_into_its_block():
    memory = PrototypeMemory(VOCAB, attribute_dim=1)
    chunks = torch.tensor([[[1.0], [10.0]], [[3.0], [20.0]], [[5.0], [30.0]]])  # (N=3, n=2, d=1)
    labels = torch.tensor([[0, 1], [0, 1], [1, UNKNOWN]])
    memory.initialise(chunks, labels)
    assert memory.weight.tolist() == [
        [2.0, 5.0, 0.0, 0.0, 0.0],  # category: top = mean(1, 3), shoe = 5
        [0.0, 0.0, 0.0, 15.0, 0.0],  # color: blue = mean(10, 20); red, green unseen
    ]
    assert memory.off_block().abs().sum().item() == 0.0


def test_manipulation_swaps_one_prototype_and_leaves_other_chunks_alone():
    memory = PrototypeMemory(VOCAB, attribute_dim=1)
    with torch.no_grad():
        memory.weight.copy_(torch.tensor([[1.0, 2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 10.0, 20.0, 30.0]]))
    r = torch.tensor([[1.5, 11.0]])  # a top, red-ish with its own deviation (+1)
    i = manipulation_indicator(torch.tensor([[0, 0]]), torch.tensor([[0, 2]]), VOCAB)
    assert memory.manipulate(r, i).tolist() == [[1.5, 31.0]]
    assert memory.compose(torch.tensor([[1, 1]])).tolist() == [[2.0, 20.0]]
