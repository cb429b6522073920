"""The C ABI as programs built against include/omadm.h depend on it: the functions libomadm.so
exports, the signatures of its functions and callbacks, and the size and field offsets of every
struct and the value of every constant the header declares (as the C compiler lays them out
here, x86_64).

  python3 tests/c/abi.py check LIB   fails when the ABI differs from dm-ffi/abi.txt (make test-c)
  python3 tests/c/abi.py write LIB   records it there (make abi)

A line gone or changed breaks programs built before (raise ABI in dm-ffi/build.rs, the
SONAME's number, then write); a new line is a compatible addition (write, to record it)."""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(ROOT, "include", "omadm.h")
RECORD = os.path.join(ROOT, "dm-ffi", "abi.txt")


# A struct of the header: its body, its name.
STRUCT = re.compile(r"typedef struct \{(.*?)\} (\w+);", flags=re.S)


def code(header: str) -> str:
    """The header without its comments."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", header, flags=re.S)


def declared(text: str) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """The structs (their fields), constants and functions of the header's code."""
    structs = {}
    for body, name in STRUCT.findall(text):
        fields = []
        for decl in filter(str.strip, body.split(";")):
            pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)  # a function pointer
            array = re.search(r"(\w+)\s*\[[^\]]*\]\s*$", decl.strip())
            fields.append(pointer.group(1) if pointer else array.group(1) if array else re.findall(r"\w+", decl)[-1])
        structs[name] = fields
    constants = [c for block in re.findall(r"enum[^{]*\{(.*?)\}", text, flags=re.S)
                 for c in re.findall(r"^\s*(DM_\w+)", block, flags=re.M)]
    functions = sorted(set(re.findall(r"^[\w ]+?\**\s*\b(dm_\w+)\(", text, flags=re.M)))
    return structs, constants, functions


def signatures(text: str) -> list[str]:
    """The signature of each function, callback type and callback field of the header's code:
    return and parameter types, without the parameters' names (renaming one changes nothing)."""
    for body, struct in STRUCT.findall(text):  # callbacks as fields
        text += "".join(f"\n{ret} (*{struct}.{field})({params});"
                        for ret, field, params in re.findall(r"([\w\s*]+?)\(\*(\w+)\)\(([^)]*)\)", body))
    found = []
    declaration = r"^\s*((?:typedef )?[\w\s*]+?)(?:\(\*)?(dm_[\w.]+)\)?\(([^)]*)\);"
    for ret, name, params in re.findall(declaration, text, flags=re.M):
        types = [re.sub(r"\s*\b\w+$", "", " ".join(p.split())) if p.strip() != "void" else "void"
                 for p in params.split(",")]
        found.append(f"signature {' '.join(ret.split())} {name}({', '.join(types)})")
    return sorted(found)


def measured(lib: str) -> list[str]:
    """The ABI's lines: compiled and run against the header, and read from the library."""
    with open(HEADER) as f:
        text = code(f.read())
    structs, constants, functions = declared(text)
    lines = []
    for name, fields in structs.items():
        lines.append(f'printf("struct {name} size %zu align %zu\\n", sizeof({name}), _Alignof({name}));')
        lines += [f'printf("field {name}.{f} offset %zu size %zu\\n", offsetof({name}, {f}), '
                  f'sizeof((({name} *)0)->{f}));' for f in fields]
    lines += [f'printf("const {c} %lld\\n", (long long){c});' for c in constants]
    program = ("#include <stddef.h>\n#include <stdio.h>\n#include \"omadm.h\"\nint main(void) {\n"
               + "\n".join(lines) + "\nreturn 0;\n}\n")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "abi.c"), "w") as f:
            f.write(program)
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", os.path.dirname(HEADER), "-o",
                        os.path.join(d, "abi"), os.path.join(d, "abi.c")], check=True)
        layout = subprocess.run([os.path.join(d, "abi")], check=True, capture_output=True, text=True).stdout
    exported = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    exported_names = sorted(line.split()[-1] for line in exported.splitlines() if line.split()[-1].startswith("dm_"))
    if exported_names != functions:
        sys.exit(f"{lib} exports {sorted(set(exported_names) ^ set(functions))} unlike include/omadm.h declares")
    return [f"function {f}" for f in functions] + signatures(text) + layout.splitlines()


def abi_version() -> str:
    with open(os.path.join(ROOT, "dm-ffi", "build.rs")) as f:
        return re.search(r"^const ABI: u32 = (\d+);", f.read(), flags=re.M).group(1)


def main() -> None:
    action, lib = sys.argv[1], sys.argv[2]
    now = [f"abi {abi_version()}"] + measured(lib)
    if action == "write":
        with open(RECORD, "w") as f:
            f.write("\n".join(now) + "\n")
        return
    with open(RECORD) as f:
        recorded = f.read().splitlines()
    gone = [line for line in recorded[1:] if line not in now]
    new = [line for line in now[1:] if line not in recorded]
    if gone and recorded[0] == now[0]:
        sys.exit("the C ABI changed for programs built before (raise ABI in dm-ffi/build.rs, then `make abi`):\n  "
                 + "\n  ".join(gone))
    if recorded[0] != now[0]:
        sys.exit(f"the C ABI is {now[0]}, dm-ffi/abi.txt records {recorded[0]}: `make abi` records it")
    if new:
        sys.exit("the C ABI has additions dm-ffi/abi.txt does not record (`make abi` records them):\n  "
                 + "\n  ".join(new))


if __name__ == "__main__":
    main()
