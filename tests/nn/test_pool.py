import pytest
import torch
from safetensors.torch import load, save

from ganedit.nn import ImagePool, empty_pool, pool_query


def _batches(n_batches, batch, offset=0):
    # image j (over the whole run) is filled with the value offset + j, so it can be recognised
    for b in range(n_batches):
        ids = torch.arange(b * batch, (b + 1) * batch, dtype=torch.float32) + offset
        yield ids.view(-1, 1, 1, 1).expand(batch, 2, 3, 3).contiguous()


def _ids(images):
    return images[:, 0, 0, 0].tolist()


def test_fill_then_mix_old_and_new():
    torch.manual_seed(0)
    size, pool, seen = 6, empty_pool(torch.zeros(1, 2, 3, 3)), []
    assert pool.shape == (0, 2, 3, 3)
    swapped = 0
    for images in _batches(20, 4):
        out, new_pool = pool_query(pool, images, size)
        assert out.shape == images.shape and new_pool.shape == (
            min(size, pool.shape[0] + 4),
            2,
            3,
            3,
        )
        new_ids, out_ids = _ids(images), _ids(out)
        for i, (o, n) in enumerate(zip(out_ids, new_ids, strict=True)):
            if n < size:  # pool not full yet: stored and returned unchanged
                assert o == n
            elif o != n:  # an image stored earlier, now replaced by the new one
                assert o in _ids(pool) or o in new_ids[:i]
                swapped += 1
        assert set(_ids(new_pool)) <= set(_ids(pool)) | set(new_ids)
        assert all(torch.all(o == o[0, 0, 0]) for o in out)  # whole images, never mixed
        seen += out_ids
        pool = new_pool
    assert seen[:size] == list(range(size))
    assert 0.3 < swapped / (80 - size) < 0.7  # probability 0.5
    # an image comes back at most twice: when new, and once more when drawn from the pool
    assert max(seen.count(j) for j in set(seen)) <= 2


def test_pool_contents_and_first_images_stored():
    torch.manual_seed(0)
    images = next(_batches(1, 5))
    out, pool = pool_query(empty_pool(images), images, 8)
    assert out is images and torch.equal(pool, images) and not pool.requires_grad
    out2, pool2 = pool_query(pool, images[:4] + 100, 8)
    assert torch.equal(out2[:3], images[:3] + 100)  # the last 3 free slots
    assert pool2.shape[0] == 8 and torch.equal(pool, images)  # input pool not modified


def _run(pool, batches, size):
    outs = []
    for images in batches:
        out, pool = pool_query(pool, images, size)
        outs.append(out)
    return torch.cat(outs), pool


def test_seed_repeats_the_sequence():
    batches = list(_batches(10, 3))
    torch.manual_seed(123)
    a, pa = _run(empty_pool(batches[0]), batches, 5)
    torch.manual_seed(123)
    b, pb = _run(empty_pool(batches[0]), batches, 5)
    torch.manual_seed(7)
    c, _ = _run(empty_pool(batches[0]), batches, 5)
    assert torch.equal(a, b) and torch.equal(pa, pb)
    assert not torch.equal(a, c)


def test_state_roundtrip_reproduces_future_outputs():
    batches = list(_batches(12, 2))
    pool = ImagePool(5)
    torch.manual_seed(1)
    state: dict[str, torch.Tensor] = {}
    for images in batches[:6]:
        pool.query(state, "a", images)
        pool.query(state, "b", images + 1000)
    saved = load(save(state))  # the engine checkpoints such dicts with safetensors
    rng = torch.get_rng_state()
    first = [pool.query(state, "a", images) for images in batches[6:]]
    torch.set_rng_state(rng)
    again = [pool.query(saved, "a", images) for images in batches[6:]]
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert torch.equal(state["a"], saved["a"])
    assert set(saved) == {"a", "b"} and min(_ids(saved["b"])) >= 1000


def test_size_zero_is_identity_and_checks():
    images = torch.randn(3, 2, 4, 4, requires_grad=True)
    pool = empty_pool(images)
    out, same = pool_query(pool, images, 0)
    assert out is images and same is pool
    state: dict[str, torch.Tensor] = {}
    assert ImagePool(0).query(state, "p", images) is images
    assert state["p"].shape == (0, 2, 4, 4)
    with pytest.raises(ValueError, match="pool holds"):
        pool_query(torch.zeros(2, 2, 5, 5), images, 4)
    with pytest.raises(ValueError, match="more than its size"):
        pool_query(torch.zeros(5, 2, 4, 4), images, 4)
    with pytest.raises(ValueError):
        ImagePool(-1)


def test_gradients_only_reach_returned_new_images():
    torch.manual_seed(0)
    stored = torch.randn(2, 1, 2, 2)
    images = torch.randn(8, 1, 2, 2, requires_grad=True)
    out, pool = pool_query(stored, images, 2)
    assert not pool.requires_grad
    out.sum().backward()
    assert images.grad is not None
    kept = (out == images).flatten(1).all(1)
    assert torch.equal(images.grad.flatten(1).all(1), kept)
    assert 0 < int(kept.sum()) < 8
