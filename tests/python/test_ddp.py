"""DistributedDataParallel with ups.torch.nn modules: one training step of the decoder in two
processes (gloo, CPU), each on half the batch, gives the parameters of one step in a single
process on the whole batch."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import pytest

from decoder import ddp_worker, pair, train_step


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="this PyTorch has no gloo backend")
def test_ddp_two_processes_match_one(tmp_path):
    torch.manual_seed(5)
    x = torch.randn(4, 3, 8, 8)
    target = torch.randn(4, 1, 64, 64)

    _, single = pair()
    before = {k: v.clone() for k, v in single.state_dict().items()}
    train_step(single, x, target)

    result = tmp_path / "rank0.pt"
    mp.spawn(ddp_worker, args=(2, str(tmp_path / "init"), x, target, str(result)), nprocs=2,
             join=True)
    distributed = torch.load(result, weights_only=True)

    assert list(distributed) == list(single.state_dict())
    for name, value in single.state_dict().items():
        assert not torch.equal(value, before[name]), f"{name} did not change"
        torch.testing.assert_close(distributed[name], value, rtol=1e-5, atol=1e-6)
