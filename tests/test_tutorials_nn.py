"""PyTorch training programs run unchanged after ``import minitorch as torch``.

The programs below are written against ``torch`` in the style of PyTorch's
beginner tutorials ("Learning PyTorch with Examples", the quickstart, the
CIFAR-10 classifier) and of the char-level GPT built in Karpathy's "Let's
build GPT" lecture. Each runs once with minitorch bound to the name
``torch`` and once with the real PyTorch, and the losses must agree.

Two things are injected so that both frameworks start from the same point
and see the same data: ``init(model)`` overwrites every parameter with fixed
numbers (in ``named_parameters`` order), and the data are fixed NumPy arrays.
Everything else (layers, losses, optimizers, DataLoader, save/load, the
training loops) is the program's own.
"""

import math

import numpy as np
import pytest

import minitorch

from helpers import requires_torch, torch


def init_fn(lib):
    """Set every parameter to fixed values drawn from a NumPy generator (same in both frameworks)."""

    def init(model):
        rng = np.random.default_rng(1234)
        with lib.no_grad():
            for _, p in model.named_parameters():
                scale = 1 / math.sqrt(p.shape[1]) if p.dim() > 1 else 0.1
                values = rng.uniform(-scale, scale, size=tuple(p.shape)).astype(np.float32)
                p.copy_(lib.tensor(values, dtype=p.dtype))

    return init


POLYNOMIAL_NN = """
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
init(model)
loss_fn = torch.nn.MSELoss(reduction='sum')
learning_rate = 1e-6
for t in range(300):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        history.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
result = [linear_layer.bias.item(), *linear_layer.weight[:, 0:3].flatten().tolist()]
"""

POLYNOMIAL_OPTIM = """
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
init(model)
loss_fn = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(500):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        history.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
result = [model[0].bias.item(), *model[0].weight.flatten().tolist()]
"""

POLYNOMIAL_MODULE = """
class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3'

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = Polynomial3()
init(model)
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(500):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        history.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
assert model.string().startswith('y = ')
result = [p.item() for p in model.parameters()]
"""

QUICKSTART = """
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

training_data = TensorDataset(torch.tensor(train_x), torch.tensor(train_y))
test_data = TensorDataset(torch.tensor(test_x), torch.tensor(test_y))
batch_size = 16
train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)
for X, y in test_dataloader:
    assert X.shape == (batch_size, 1, 8, 8) and y.dtype == torch.int64
    break

device = "cpu"

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8*8, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits

model = NeuralNetwork().to(device)
init(model)
assert 'linear_relu_stack' in str(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5e-2)

def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 10 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            history.append(loss)

def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    return correct, test_loss

epochs = 3
for t in range(epochs):
    train(train_dataloader, model, loss_fn, optimizer)
    accuracy, test_loss = test(test_dataloader, model, loss_fn)

torch.save(model.state_dict(), path)
model = NeuralNetwork().to(device)
model.load_state_dict(torch.load(path, weights_only=True))
model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted = pred[0].argmax(0)
assert test(test_dataloader, model, loss_fn)[0] == accuracy
result = [accuracy, test_loss, int(predicted)]
"""

CIFAR_CNN = """
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

net = Net()
init(net)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
trainloader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.tensor(images), torch.tensor(labels)), batch_size=8)

for epoch in range(2):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels_ = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels_)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 4 == 3:
            history.append(running_loss / 4)
            running_loss = 0.0

correct = 0
total = 0
with torch.no_grad():
    for data in trainloader:
        images_, labels_ = data
        outputs = net(images_)
        _, predicted = torch.max(outputs.data, 1)
        total += labels_.size(0)
        correct += (predicted == labels_).sum().item()
result = [correct / total]
"""

CHAR_GPT = """
import torch.nn as nn
from torch.nn import functional as F

batch_size = 4
block_size = 8
n_embd = 16
n_head = 2
n_layer = 2
dropout = 0.0
learning_rate = 1e-2

chars = sorted(list(set(text)))
vocab_size = len(chars)
stoi = { ch:i for i,ch in enumerate(chars) }
itos = { i:ch for i,ch in enumerate(chars) }
encode = lambda s: [stoi[c] for c in s]
decode = lambda l: ''.join([itos[i] for i in l])
data = torch.tensor(encode(text), dtype=torch.long)
n = int(0.9*len(data))
train_data = data[:n]
val_data = data[n:]

def get_batch(split, step):
    data = train_data if split == 'train' else val_data
    ix = torch.tensor(batch_starts[step] % (len(data) - block_size))
    x = torch.stack([data[i:i+block_size] for i in ix])
    y = torch.stack([data[i+1:i+block_size+1] for i in ix])
    return x, y

class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B,T,C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2,-1) * k.shape[-1]**-0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))
        wei = F.softmax(wei, dim=-1)
        wei = self.dropout(wei)
        v = self.value(x)
        out = wei @ v
        return out

class MultiHeadAttention(nn.Module):
    def __init__(self, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        out = self.dropout(self.proj(out))
        return out

class FeedFoward(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.ReLU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)

class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        head_size = n_embd // n_head
        self.sa = MultiHeadAttention(n_head, head_size)
        self.ffwd = FeedFoward(n_embd)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x

class GPTLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head=n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)
        pos_emb = self.position_embedding_table(torch.arange(T))
        x = tok_emb + pos_emb
        x = self.blocks(x)
        x = self.ln_f(x)
        logits = self.lm_head(x)
        if targets is None:
            loss = None
        else:
            B, T, C = logits.shape
            logits = logits.view(B*T, C)
            targets = targets.view(B*T)
            loss = F.cross_entropy(logits, targets)
        return logits, loss

    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            idx_cond = idx[:, -block_size:]
            logits, loss = self(idx_cond)
            logits = logits[:, -1, :]
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

model = GPTLanguageModel()
init(model)
n_params = sum(p.numel() for p in model.parameters())
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        X, Y = get_batch(split, 0)
        logits, loss = model(X, Y)
        out[split] = loss.item()
    model.train()
    return out

for iter in range(40):
    if iter % 10 == 0:
        history.append(estimate_loss()['train'])
    xb, yb = get_batch('train', iter)
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

context = torch.zeros((1, 1), dtype=torch.long)
sample = decode(model.generate(context, max_new_tokens=20)[0].tolist())
assert len(sample) == 21 and set(sample) <= set(chars)
result = [loss.item(), n_params]
"""


def digits_arrays():
    rng = np.random.default_rng(0)
    x = rng.random((160, 1, 8, 8), dtype=np.float32)
    y = (x.reshape(160, -1)[:, :10].argmax(1)).astype(np.int64)  # learnable: the brightest of 10 pixels
    return {"train_x": x[:128], "train_y": y[:128], "test_x": x[128:], "test_y": y[128:]}


def cifar_arrays():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((32, 3, 32, 32), dtype=np.float32)
    labels = rng.integers(0, 10, 32)
    return {"images": images, "labels": labels}


TEXT = "\n".join(
    ["Beautiful is better than ugly.", "Explicit is better than implicit.", "Simple is better than complex."] * 8
)


def gpt_arrays():
    rng = np.random.default_rng(2)
    return {"text": TEXT, "batch_starts": rng.integers(0, 10_000, size=(40, 4))}


PROGRAMS = {
    "polynomial_nn": (POLYNOMIAL_NN, dict),
    "polynomial_optim": (POLYNOMIAL_OPTIM, dict),
    "polynomial_module": (POLYNOMIAL_MODULE, dict),
    "quickstart": (QUICKSTART, digits_arrays),
    "cifar_cnn": (CIFAR_CNN, cifar_arrays),
    "char_gpt": (CHAR_GPT, gpt_arrays),
}


def run(name, lib, tmp_path):
    program, data = PROGRAMS[name]
    scope = {"torch": lib, "math": math, "history": [], "init": init_fn(lib), "path": str(tmp_path / f"{name}.pth")}
    scope.update(data())
    if lib is minitorch:  # `import torch.nn as nn` inside the program must find minitorch's modules
        import sys

        names = ("torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils", "torch.utils.data")
        saved = {k: sys.modules.get(k) for k in names}
        sys.modules.update(
            {
                "torch": minitorch,
                "torch.nn": minitorch.nn,
                "torch.nn.functional": minitorch.nn.functional,
                "torch.optim": minitorch.optim,
                "torch.utils": minitorch.utils,
                "torch.utils.data": minitorch.utils.data,
            }
        )
        try:
            exec(program, scope)
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
    else:
        exec(program, scope)
    return scope["result"], scope["history"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_runs_and_learns_on_minitorch(name, tmp_path):
    result, history = run(name, minitorch, tmp_path)
    assert history and all(math.isfinite(h) for h in history)
    assert history[-1] < history[0]  # the loss falls


@requires_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_pytorch(name, tmp_path):
    ours, our_history = run(name, minitorch, tmp_path)
    theirs, their_history = run(name, torch, tmp_path)
    np.testing.assert_allclose(our_history, their_history, rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=1e-4)
