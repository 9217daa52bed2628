"""Real workload: a small PyTorch model trained on CPU, fed by a
DataLoader with two worker processes (fork) that build the batches.
Prints the last loss."""
import sys

import torch
from torch.utils.data import DataLoader, Dataset

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 100


class Synthetic(Dataset):
    def __len__(self):
        return STEPS * 64

    def __getitem__(self, i):
        x = torch.randn(512)
        return x, int(x[:10].argmax())


if __name__ == "__main__":
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(Synthetic(), batch_size=64, num_workers=2)
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("%.4f" % loss.item())
