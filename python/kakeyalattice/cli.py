# SPDX-License-Identifier: Apache-2.0
"""Command line (also `python -m kakeyalattice ...`):
  kakeyalattice stage075 {run,audit,sweep} --out DIR [options]   DeepSeek-V4-Flash audit
  kakeyalattice rd --dim D --out DIR [--data FILE.npy]           rate–distortion landscape
  kakeyalattice codecs                                           the factory's codec names
  kakeyalattice hf-eval [--model DIR] --out DIR [options]        end-to-end quality in a transformers
                                                                 model (needs the [hf] extra)
  kakeyalattice info [--json]                                    version, CPU ISA, threads, CUDA, formats"""
from __future__ import annotations

import argparse
import shlex
import sys


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output directory for stage075.json/.md and plots")
    p.add_argument("--passages", type=int, default=8, help="number of built-in passages (1..8)")
    p.add_argument("--tokens", type=int, default=2048, help="tokens per passage")
    p.add_argument("--q-min", type=int, default=1)
    p.add_argument("--q-max", type=int, default=80)
    p.add_argument("--lattices", default="e8,d4,z",
                   help="comma list of e8,d4,z (e8 required for Q_min)")
    p.add_argument("--host-model", default=None,
                   help="local host model dir (WordPiece vocab + safetensors)")
    p.add_argument("--v4-weights", default=None, help="dir of trained V4-Flash safetensors shards")
    p.add_argument("--v4-config", default=None,
                   help="V4 config.json (layer pattern from its compress_ratios); default: config.json in "
                        "--v4-weights if present, else the built-in V4-Flash constants")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--realkv-tokens", type=int, default=512,
                   help="tokens per passage for the Real KV section (all-MiniLM-L6-v2); 0 skips it")
    p.add_argument("--threads", type=int, default=0, help="C++ worker threads (0 = all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="kakeyalattice", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage075", help="DeepSeek-V4-Flash Stage 0.75 audit and Q sweep")
    st_sub = st.add_subparsers(dest="what", required=True)
    for name, helptext in (("run", "audit + sweep + reports"),
                           ("audit", "the n-passage audit only"),
                           ("sweep", "the Q sweep only")):
        _add_common(st_sub.add_parser(name, help=helptext))
    rd = sub.add_parser("rd", help="rate-distortion landscape of every codec family")
    rd.add_argument("--dim", type=int, action="append", required=True, help="vector dim (repeatable)")
    rd.add_argument("--out", required=True, help="output directory (rd_d<dim>.json/.md/.png)")
    rd.add_argument("--data", default=None, help=".npy file of your own vectors (rows, dim) instead of N(0,1)")
    rd.add_argument("--n", type=int, default=16384, help="Gaussian vectors per dim")
    rd.add_argument("--seed", type=int, default=0)
    rd.add_argument("--families", default=None, help="comma list of codec families (default: all)")
    sub.add_parser("codecs", help="list the codec factory's names and parameters")
    hf = sub.add_parser("hf-eval", help="end-to-end quality of every codec family on a transformers model")
    hf.add_argument("--model", default=None, help="local model directory (default: the installed all-MiniLM-L6-v2)")
    hf.add_argument("--out", required=True, help="output directory for hf_eval.json/.md/.png")
    hf.add_argument("--kind", default="auto", choices=("auto", "encoder", "decoder"))
    hf.add_argument("--families", default=None, help="comma list of families or codec names (default: all)")
    hf.add_argument("--max-sentences", type=int, default=None, help="encoders: use the first N sentences")
    hf.add_argument("--tokens", type=int, default=256, help="decoders: tokens per passage")
    hf.add_argument("--batch", type=int, default=32, help="encoders: sentences per forward")
    hf.add_argument("--threads", type=int, default=0, help="C++ and torch threads (0 = defaults)")
    hf.add_argument("--quiet", action="store_true", help="no progress bar")
    info = sub.add_parser("info", help="version, the CPU instruction set in use, threads, CUDA, formats")
    info.add_argument("--json", action="store_true", help="print the build_info() dict as JSON")
    args = ap.parse_args(argv)
    if args.cmd == "hf-eval":
        return _hf_eval(args, argv)

    if args.cmd == "info":
        import json

        from . import build_info

        bi = build_info()
        if args.json:
            print(json.dumps(bi, indent=2))
            return 0 if bi.get("isa") else 2
        isa = bi["isa"] if bi.get("isa") else f"ERROR: {bi.get('isa_error')}"
        env = f" (KAKEYA_ISA={bi['isa_env']})" if bi["isa_env"] else ""
        print(f"kakeyalattice {bi['version']}")
        print(f"cpu isa:         {isa}{env}; this CPU runs {', '.join(bi['isa_supported'])}")
        print(f"compiled for:    {bi['compiled_baseline']}")
        print(f"threads:         {bi['threads']}")
        print(f"cuda:            {'built' if bi['cuda_built'] else 'not built'}"
              f"{', device available' if bi['cuda_device'] else ''}")
        print(f"format versions: {', '.join(str(v) for v in bi['format_versions'])}")
        return 0 if bi.get("isa") else 2

    if args.cmd == "codecs":
        from . import codec_info

        for name, info in codec_info().items():
            params = ", ".join(f"{k}={'(required)' if v is None else v}" for k, v in info["params"].items())
            print(f"{name:10s} {params:28s} {info['summary']}")
        return 0
    if args.cmd == "rd":
        from .bench import run_rd, write_rd

        fams = None if args.families is None else [f.strip() for f in args.families.split(",") if f.strip()]
        for d in args.dim:
            res = run_rd(d, args.n, args.data, args.seed, fams)
            files = write_rd(res, args.out, "kakeyalattice " + shlex.join(argv))
            print(f"wrote {args.out}/{files['markdown']} ({len(res['rows'])} settings, {res['seconds']} s)")
        return 0

    from . import set_num_threads
    from .stage075 import run_stage075, write_reports

    lattices = tuple(v.strip() for v in args.lattices.split(",") if v.strip())
    if args.what != "audit" and "e8" not in lattices:
        ap.error("--lattices must include e8")
    set_num_threads(args.threads)
    result = run_stage075(None, args.passages, args.tokens, args.q_min, args.q_max, lattices,
                          args.host_model, args.v4_weights, args.seed,
                          do_audit=args.what in ("run", "audit"), do_sweep=args.what in ("run", "sweep"),
                          show=not args.quiet, command="kakeyalattice " + shlex.join(argv),
                          v4_config=args.v4_config, realkv_tokens=args.realkv_tokens)
    files = write_reports(result, args.out)
    print(f"wrote {args.out}/{files['json']}, {args.out}/{files['markdown']}"
          + (f", plots {files.get('plots')}" if files.get("plots") else "")
          + f" in {result['timing_s']['total']} s")
    return 0


def _hf_eval(args, argv) -> int:
    from . import set_num_threads

    try:
        from .hf.evaluate import run_hf_eval, write_reports
    except ImportError as e:
        print(f"kakeyalattice hf-eval: {e}", file=sys.stderr)
        return 2
    set_num_threads(args.threads)
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    fams = tuple(f.strip() for f in args.families.split(",") if f.strip()) if args.families else None
    try:
        result = run_hf_eval(args.model, args.kind, args.max_sentences, args.tokens, args.batch, fams,
                             show=not args.quiet, command="kakeyalattice " + shlex.join(argv))
    except ValueError as e:
        print(f"kakeyalattice hf-eval: {e}", file=sys.stderr)
        return 2
    files = write_reports(result, args.out)
    print(f"wrote {args.out}/{files['json']}, {args.out}/{files['markdown']}"
          + (f", {args.out}/{files['plot']}" if files.get("plot") else "") + f" in {result['timing_s']['total']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
