"""Write the page of built-in fractals (``catalog.md``) from the catalog and the pictures in ``gallery/``.

Each built-in is shown by its picture in ``gallery/`` (made by ``ifskit gallery -o gallery --size 400
--points 2e7``) with its name, dimension, number of maps and description, so a new built-in appears
without editing the docs; one without a picture fails the build.
"""

from __future__ import annotations

from pathlib import Path

COLUMNS = 3


def write_page(app) -> None:
    import ifskit

    docs = Path(app.srcdir)
    cells = []
    for name in ifskit.catalog_names():
        picture = docs.parent / "gallery" / f"{name}.png"
        if not picture.exists():
            raise FileNotFoundError(f"{picture} is missing: run ifskit gallery -o gallery --size 400 --points 2e7")
        ifs = ifskit.catalog(name)
        cells.append(
            [
                f"![{name}](../gallery/{name}.png)",
                "",
                f"**`{name}`** ({ifs.dim}D, {ifs.n_maps} maps) {ifskit.catalog_description(name)}",
            ]
        )
    lines = [
        "# Built-in fractals",
        "",
        f"The {len(cells)} built-ins of `ifskit catalog`, by name: `ifskit render NAME`, `ifskit.catalog(NAME)`.",
        "The pictures are `gallery/NAME.png`, made by `ifskit gallery -o gallery --size 400 --points 2e7`.",
        "",
        "```{list-table}",
        ":align: center",
        "",
    ]
    for first in range(0, len(cells), COLUMNS):
        row = cells[first : first + COLUMNS]
        row += [[""]] * (COLUMNS - len(row))
        for column, cell in enumerate(row):
            lines.append(("* - " if column == 0 else "  - ") + cell[0])
            lines += [f"    {line}" if line else "" for line in cell[1:]]
    lines += ["```", ""]
    text = "\n".join(lines)
    path = docs / "catalog.md"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    app.connect("builder-inited", write_page)
    return {"parallel_read_safe": True}
