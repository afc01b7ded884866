"""Run docs/recipes.md as a reader would and say where its pasted output no longer matches.

    python docs/check_recipes.py [--write] [FOLDER]

Writes each scenario file the recipes name (a ```toml block after `NAME.toml`) into FOLDER (a new temporary
folder by default), runs every `$ ` command there, in order, and prints the difference between what each printed
and the text under it (run times masked). Exits 1 if any differs. With --write, puts what was printed in place of
the text that differs (read the prose around it again: it may describe the old output). Takes a few minutes.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPES = HERE / "recipes.md"
SCENARIO_FILE = re.compile(r"`([\w-]+\.toml)`[^`]*?:\n\n```toml\n(.*?)```", re.S)
COMMAND = re.compile(r"```\n(\$ .*?)```", re.S)


def _masked(lines: list[str]) -> list[str]:
    """Lines with the run time (`in 10.9 s`) masked: it differs from machine to machine."""
    return [re.sub(r"in \d+(\.\d+)? s\b", "in ... s", line.rstrip()) for line in lines]


def main() -> int:
    arguments = sys.argv[1:]
    write = "--write" in arguments
    given = [argument for argument in arguments if argument != "--write"]
    folder = Path(given[0]) if given else Path(tempfile.mkdtemp(prefix="iimsim-recipes-"))
    folder.mkdir(parents=True, exist_ok=True)
    text = updated = RECIPES.read_text("utf-8")
    for name, content in SCENARIO_FILE.findall(text):
        (folder / name).write_text(content, "utf-8")
    # this checkout's iimsim, wherever the installed one points
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent),
                                                                             os.environ.get("PYTHONPATH")])))
    differs = False
    for block in COMMAND.findall(text):
        command, *expected = block.splitlines()
        command = command.removeprefix("$ ")
        if command.startswith("iimsim "):
            command = f"{sys.executable} -m iimsim.cli {command.removeprefix('iimsim ')}"
        done = subprocess.run(command, shell=True, cwd=folder, env=environment, capture_output=True, text=True)
        printed = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
        difference = list(difflib.unified_diff(_masked(expected), _masked(printed), "recipes.md", "printed",
                                               lineterm=""))
        if difference:
            updated = updated.replace(f"```\n{block}```", "```\n" + "\n".join([block.splitlines()[0], *printed])
                                      + "\n```", 1)
        print(("differs: " if difference else "same: ") + block.splitlines()[0][:100])
        for line in difference:
            print(f"    {line}")
        differs = differs or bool(difference)
    print(f"ran in {folder}")
    if write and updated != text:
        RECIPES.write_text(updated, "utf-8")
        print(f"wrote what was printed into {RECIPES}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
