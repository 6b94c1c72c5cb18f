#!/usr/bin/env python3
"""Executes one notebook in the real Deno Jupyter kernel and keeps every output.

Stock nbclient stops listening when the kernel reports idle, but the Deno kernel sometimes
publishes outputs after that, so they get lost at random. Here every cell's iopub stream is read
until the kernel has been quiet for a grace period, and late messages are attached to the cell
whose request they answer.

Usage: nbrun.py NOTEBOOK --out DIR [--timeout S] [--grace S] [--inplace] [--html] [--require-png]
Exit status: 0 ok, 1 a cell failed, 2 timeout, 3 usage or kernel trouble.
"""
import argparse
import os
import queue
import re
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PLOTLY = "application/vnd.plotly.v1+json"


def plain(text):
    return ANSI.sub("", text)


class CellFailed(Exception):
    pass


class NotebookTimeout(Exception):
    pass


def add_output(cell, msg):
    kind = msg["msg_type"]
    content = msg["content"]
    outs = cell.outputs
    if kind == "stream":
        if outs and outs[-1].get("output_type") == "stream" and outs[-1].get("name") == content["name"]:
            outs[-1]["text"] += content["text"]
        else:
            outs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
    elif kind in ("display_data", "execute_result", "error"):
        out = nbformat.v4.output_from_msg(msg)
        if kind == "execute_result":
            cell.execution_count = content.get("execution_count")
        outs.append(out)
    elif kind == "clear_output":
        cell.outputs = []


def run(args):
    nb_path = os.path.abspath(args.notebook)
    nb = nbformat.read(nb_path, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name")
    if kernel_name != "deno":
        print(f"{args.notebook}: kernelspec.name must be 'deno'; got {kernel_name!r}", file=sys.stderr)
        return nb, 3
    km = KernelManager(kernel_name="deno")
    km.start_kernel(cwd=os.path.dirname(nb_path))
    kc = km.client()
    kc.start_channels()
    status = 0
    deadline = time.monotonic() + args.timeout
    try:
        kc.wait_for_ready(timeout=120)
        owner = {}  # msg_id -> cell, so that late outputs land in the right cell
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=True)
            owner[msg_id] = cell
            reply = None
            idle = False
            quiet_since = None
            while True:
                now = time.monotonic()
                if now > deadline:
                    km.interrupt_kernel()
                    raise NotebookTimeout(index)
                if reply is None:
                    try:
                        r = kc.get_shell_msg(timeout=0.01)
                        if r["parent_header"].get("msg_id") == msg_id:
                            reply = r
                            if cell.execution_count is None:
                                cell.execution_count = r["content"].get("execution_count")
                    except queue.Empty:
                        pass
                try:
                    msg = kc.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    if idle and reply is not None:
                        quiet_since = quiet_since or now
                        if now - quiet_since >= args.grace:
                            break
                    continue
                quiet_since = None
                parent = msg["parent_header"].get("msg_id")
                target = owner.get(parent)
                if target is None:
                    continue
                if msg["msg_type"] == "status":
                    if parent == msg_id and msg["content"]["execution_state"] == "idle":
                        idle = True
                    continue
                add_output(target, msg)
            if reply["content"]["status"] != "ok":
                c = reply["content"]
                report_failure(args.notebook, index, cell, c.get("ename", "Error"), c.get("evalue", ""),
                               c.get("traceback", []))
                raise CellFailed(index)
            if args.require_png:
                for out in cell.outputs:
                    if PLOTLY in out.get("data", {}) and "image/png" not in out.get("data", {}):
                        report_failure(args.notebook, index, cell, "MissingPNG",
                                       "a figure was displayed without its PNG fallback", [])
                        raise CellFailed(index)
    except CellFailed:
        status = 1
    except NotebookTimeout as e:
        print(f"\n{args.notebook}: timed out after {args.timeout:.0f} s in cell {e.args[0]}", file=sys.stderr)
        status = 2
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return nb, status


def report_failure(name, index, cell, ename, evalue, traceback):
    bar = "-" * 72
    print(f"\n{bar}\n{name}: cell {index} failed\n{bar}", file=sys.stderr)
    for i, line in enumerate(cell.source.splitlines(), 1):
        print(f"{i:4d} | {line}", file=sys.stderr)
    print(bar, file=sys.stderr)
    print(plain(f"{ename}: {evalue}"), file=sys.stderr)
    for line in traceback:
        print(plain(line), file=sys.stderr)
    print(bar, file=sys.stderr)


def write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebook")
    p.add_argument("--out", required=True, help="folder for the executed notebook (and HTML)")
    p.add_argument("--timeout", type=float, default=900, help="seconds for the whole notebook")
    p.add_argument("--grace", type=float, default=0.5, help="seconds of quiet after idle before a cell is done")
    p.add_argument("--inplace", action="store_true", help="also write the outputs back into NOTEBOOK")
    p.add_argument("--html", action="store_true", help="also write an HTML rendering")
    p.add_argument("--require-png", action="store_true", help="fail when a figure lacks its PNG fallback")
    args = p.parse_args()
    try:
        nb, status = run(args)
    except Exception as e:  # kernel could not start, unreadable notebook...
        print(f"{args.notebook}: {type(e).__name__}: {e}", file=sys.stderr)
        return 3
    os.makedirs(args.out, exist_ok=True)
    base = os.path.splitext(os.path.basename(args.notebook))[0]
    text = nbformat.writes(nb)
    write_atomic(os.path.join(args.out, base + ".ipynb"), text)
    if args.inplace and status == 0:
        write_atomic(args.notebook, text)
    if args.html:
        from nbconvert import HTMLExporter
        # course_katex: the lab template with KaTeX from build/katex/ (no CDN; see the template)
        templates = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbtemplates")
        exporter = HTMLExporter(extra_template_basedirs=[templates], template_name="course_katex")
        body, _ = exporter.from_notebook_node(nb)
        write_atomic(os.path.join(args.out, base + ".html"), body)
    return status


if __name__ == "__main__":
    sys.exit(main())
