"""The small decoder of the model tests: ConvTranspose2d, Upsample, PixelShuffle and
MaxUnpool2d (with the MaxPool2d that makes its indices), built from torch.nn or ups.torch.nn."""

import torch


class Decoder(torch.nn.Module):
    def __init__(self, nn):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.deconv = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.shuffle = nn.PixelShuffle(2)
        self.head = torch.nn.Conv2d(2, 1, 1)

    def forward(self, x):
        y, indices = self.pool(torch.relu(self.stem(x)))
        y = self.unpool(y, indices)
        y = torch.relu(self.deconv(y))
        y = self.shuffle(self.up(y))
        return self.head(y)


def pair(seed=0):
    """The torch.nn decoder and the ups.torch.nn one with the torch one's checkpoint loaded."""
    import io

    import ups.torch.nn

    torch.manual_seed(seed)
    reference = Decoder(torch.nn)
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    buffer.seek(0)
    ours = Decoder(ups.torch.nn)
    ours.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    return reference, ours


def train_step(model, x, target, lr=0.1):
    """One SGD step on the mean squared error of @p model on (@p x, @p target)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(x), target).backward()
    optimizer.step()


def ddp_worker(rank, world_size, init_file, x, target, result_file):
    """One process of a DistributedDataParallel step (gloo, CPU) on its share of the batch;
    rank 0 saves the parameters after the step."""
    import os

    import torch.distributed as dist

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world_size)
    try:
        _, model = pair()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        share = x.shape[0] // world_size
        part = slice(rank * share, (rank + 1) * share)
        train_step(ddp, x[part], target[part])
        if rank == 0:
            torch.save(model.state_dict(), result_file)
    finally:
        dist.destroy_process_group()
