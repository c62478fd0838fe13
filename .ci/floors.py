"""Print the pins ``name==version`` of the floors that pyproject.toml declares.

Every ``name>=version`` of ``[project] dependencies`` and of the ``test`` extra becomes
``name==version`` (extras and upper bounds dropped), for CI's job at the floors. Standard
library only, so that it runs before anything is installed.
"""

import re
import sys

REQUIREMENT = re.compile(r'"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)[^"]*"')


def floors(text):
    """``name==version`` of each floor in ``dependencies = [...]`` and ``test = [...]``."""
    lists = re.findall(r"^(?:dependencies|test)\s*=\s*\[(.*?)\]", text, flags=re.M | re.S)
    pins = (REQUIREMENT.findall(block) for block in lists)
    return [f"{name}=={version}" for found in pins for name, _, version in found]


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        print(" ".join(floors(file.read())))
