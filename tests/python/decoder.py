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
    ours.load_state_dict(torch.load(buffer), strict=True)
    return reference, ours
