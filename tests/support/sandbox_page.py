"""Reads the sandboxes' ``/_sandbox`` page as a browser would: its rows, and the forms behind each button."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class Button:
    """One button: the form it submits (hidden fields plus the button's own name and value)."""

    action: str
    fields: dict[str, str]
    label: str = ""


@dataclass
class PageRow:
    attrs: dict[str, str]
    cells: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PageRow] = []
        self.flash: dict[str, str] = {}
        self.stylesheets: list[str] = []
        self.scripts = 0
        self._row: PageRow | None = None
        self._form: tuple[str, dict[str, str]] | None = None
        self._button: Button | None = None
        self._cell: list[str] | None = None
        self._flash: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and any(k.startswith("data-") for k in a):
            self._row = PageRow(attrs={k[5:]: v for k, v in a.items() if k.startswith("data-")})
        elif tag == "td" and self._row is not None and "actions" not in a.get("class", ""):
            self._cell = []
        elif tag == "form":
            self._form = (a.get("action", ""), {})
        elif tag == "input" and self._form is not None:
            self._form[1][a["name"]] = a.get("value", "")
        elif tag == "button" and self._form is not None:
            self._button = Button(self._form[0], {**self._form[1], a["name"]: a.get("value", "")})
        elif tag == "p" and a.get("id") in ("done", "error"):
            self._flash = a["id"]
            self.flash[a["id"]] = ""
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.cells.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "button" and self._button is not None:
            if self._row is not None:
                self._row.buttons.append(self._button)
            self._button = None
        elif tag == "form":
            self._form = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "p":
            self._flash = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._button is not None:
            self._button.label += data.strip()
        if self._flash is not None:
            self.flash[self._flash] += data


@dataclass
class SandboxPage:
    """The page as fetched: its rows by kind and key, and a way to press a button."""

    client: httpx.Client
    response: httpx.Response
    parsed: _PageParser

    @classmethod
    def open(cls, client: httpx.Client, path: str = "/_sandbox") -> SandboxPage:
        response = client.get(path)
        assert response.status_code == 200, response.text
        parser = _PageParser()
        parser.feed(response.text)
        return cls(client, response, parser)

    def row(self, **attrs: str) -> PageRow:
        found = [r for r in self.parsed.rows if all(r.attrs.get(k) == v for k, v in attrs.items())]
        assert len(found) == 1, (attrs, [r.attrs for r in self.parsed.rows])
        return found[0]

    def labels(self, **attrs: str) -> list[str]:
        return [button.label for button in self.row(**attrs).buttons]

    def press(self, label: str, **attrs: str) -> SandboxPage:
        """Submit the button's form as a browser does (same Origin), follow the redirect, read the page again."""
        (button,) = [b for b in self.row(**attrs).buttons if b.label == label]
        origin = str(self.client.base_url).rstrip("/")
        answer = self.client.post(button.action, data=button.fields, headers={"Origin": origin})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("/_sandbox?")
        return SandboxPage.open(self.client, answer.headers["location"])

    @property
    def flash(self) -> dict[str, str]:
        return {k: v.strip() for k, v in self.parsed.flash.items()}
