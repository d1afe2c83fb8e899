# Reference AGD (SPEC.md) in PyTorch on Fashion-MNIST, fcn d10 w256, bs128, mse.
import gzip, sys, math, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
root = "/usr/share/datasets/fashion-mnist/"
def idx(name):
    with gzip.open(root + name) as f: d = f.read()
    nd = d[3]; dims = [int.from_bytes(d[4+4*i:8+4*i], "big") for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4+4*nd).reshape(dims)
xtr = torch.tensor(idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).div(255).sub(0.2860).div(0.3530).view(-1, 784)
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32).div(255).sub(0.2860).div(0.3530).view(-1, 784)
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
class FCN(nn.Module):
    def __init__(s, depth=10, width=256):
        super().__init__()
        s.initial = nn.Linear(784, width, bias=False)
        s.layers = nn.ModuleList([nn.Linear(width, width, bias=False) for _ in range(depth-2)])
        s.final = nn.Linear(width, 10, bias=False)
    def forward(s, x):
        x = s.initial(x)
        for l in s.layers: x = l(F.relu(x) * math.sqrt(2))
        return s.final(F.relu(x) * math.sqrt(2))
def run(seed, epochs=3):
    torch.manual_seed(seed)
    m = FCN(); ps = list(m.parameters()); L = len(ps)
    with torch.no_grad():
        for p in ps:
            nn.init.orthogonal_(p); p.mul_(math.sqrt(p.shape[0]/p.shape[1]))
    out = []
    for ep in range(epochs):
        perm = torch.randperm(60000)
        for i in range(0, 60000, 128):
            b = perm[i:i+128]
            y = F.one_hot(ytr[b], 10).float() * math.sqrt(10)
            loss = ((m(xtr[b]) - y) ** 2).mean()
            m.zero_grad(); loss.backward()
            with torch.no_grad():
                G = sum(p.grad.norm() * math.sqrt(p.shape[0]/p.shape[1]) for p in ps) / L
                eta = math.log(0.5 * (1 + math.sqrt(1 + 4 * G.item())))
                for p in ps:
                    s = math.sqrt(p.shape[0]/p.shape[1])
                    p -= eta / L * torch.nan_to_num(s / p.grad.norm()) * p.grad
        with torch.no_grad():
            acc = (m(xte).argmax(1) == yte).float().mean().item()
        out.append(round(acc * 100, 2))
    return out
for seed in map(int, sys.argv[1:]):
    print(seed, run(seed), flush=True)
