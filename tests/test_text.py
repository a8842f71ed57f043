"""Customer-facing texts from message catalogs: languages are files, customers carry a locale."""

from __future__ import annotations

import gettext
import importlib.util
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

import ticketkit as tk
from ticketkit.desk import _text
from ticketkit.testing import ManualClock

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2025, 3, 3, 9, tzinfo=UTC)

FRENCH_PO = r"""
msgid ""
msgstr ""
"Language: fr\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

msgid "{n} hour"
msgid_plural "{n} hours"
msgstr[0] "{n} heure"
msgstr[1] "{n} heures"

msgid "Assigned to {team}"
msgstr "Confié à {team}"

msgid "expected within {wait}"
msgstr "réponse attendue sous {wait}"

msgid "{head}; {tail}"
msgstr "{head} ; {tail}"

msgctxt "status"
msgid "received"
msgstr "reçu"
"""


def compile_catalogs() -> ModuleType:
    """scripts/compile_catalogs.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "compile_catalogs", ROOT / "scripts" / "compile_catalogs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compile_catalogs"] = module
    spec.loader.exec_module(module)
    return module


def desk(customer_locale: str | None = None) -> tuple[tk.Helpdesk, tk.Ticket]:
    policy = tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        targets={"default": tk.SLATarget(resolution=timedelta(hours=2))},
    )
    d = tk.Helpdesk(
        store=tk.InMemoryStore(),
        policies=[policy],
        clock=ManualClock(AT),
        labels={"zh": {"after-sales": "售后"}},
    )
    t = d.open(
        subject="Wrong size", customer=tk.Customer(id="c-1", locale=customer_locale), team="after-sales"
    )
    return d, t


class TestCatalogs:
    def test_compiled_catalogs_are_up_to_date(self) -> None:
        """Every shipped .mo is exactly its .po compiled (so an edited .po cannot be forgotten)."""
        cc = compile_catalogs()
        pos = cc.catalogs()
        assert pos
        for po in pos:
            assert cc.compiled(po) == po.with_suffix(".mo").read_bytes(), po
        assert 0 == cc.main(["--check"])

    def test_a_stale_catalog_is_caught(self, tmp_path: Path) -> None:
        """A .po edited after compiling no longer matches its .mo."""
        cc = compile_catalogs()
        po = tmp_path / "x.po"
        po.write_text(FRENCH_PO, encoding="utf-8")
        before = cc.compiled(po)
        po.write_text(FRENCH_PO.replace("reçu", "bien reçu"), encoding="utf-8")
        assert before != cc.compiled(po)

    def test_every_message_id_has_a_chinese_text(self) -> None:
        """The Chinese catalog translates every text the code asks for (none falls back to English)."""
        with (_text.LOCALE_DIR / "zh" / "LC_MESSAGES" / "ticketkit.mo").open("rb") as fh:
            zh = gettext.GNUTranslations(fh)
        source = Path(_text.__file__).read_text(encoding="utf-8")
        for word in ("Received", "Closed", "Assigned to {team}", "{metric} deadline breached"):
            assert word in source
            assert word != zh.gettext(word)

    def test_a_third_language_is_a_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Dropping a compiled French catalog beside the shipped ones makes French work, no code changed."""
        cc = compile_catalogs()
        folder = tmp_path / "locales"
        shutil.copytree(_text.LOCALE_DIR, folder)
        po = folder / "fr" / "LC_MESSAGES" / "ticketkit.po"
        po.parent.mkdir(parents=True)
        po.write_text(FRENCH_PO, encoding="utf-8")
        po.with_suffix(".mo").write_bytes(cc.compiled(po))
        monkeypatch.setattr(_text, "LOCALE_DIR", folder)
        assert ("en", "fr", "zh") == _text.available_languages()
        d, t = desk()
        p = d.progress(t.id, actor=tk.Actor.customer("c-1"), lang="fr")
        assert ("Confié à after-sales ; réponse attendue sous 2 heures", "reçu") == (
            p.message,
            p.status_text,
        )
        # what the French catalog lacks falls back to English
        assert "Resolved; reply if anything is still wrong" == _text.progress_message(
            lang="fr", status_kind="resolved", team_name=None, expected_within=None, overdue=False
        )

    def test_unknown_language_is_refused(self) -> None:
        """A language without a catalog is a ValidationError naming the ones there are."""
        with pytest.raises(
            tk.ValidationError, match=r"lang: unsupported language 'fr' \(expected one of: en, zh\)"
        ):
            _text.translations("fr")


class TestCustomerLocale:
    def test_round_trips(self) -> None:
        """Customer.locale goes through to_dict/from_dict and JSON; it defaults to None."""
        c = tk.Customer(id="c-1", locale="zh-CN")
        assert c == tk.from_dict(tk.Customer, tk.to_dict(c))
        assert c == tk.from_json(tk.Customer, tk.to_json(c))
        assert tk.Customer(id="c-2").locale is None
        assert tk.Customer(id="c-3") == tk.from_dict(tk.Customer, {"id": "c-3"})  # older data has none

    @pytest.mark.parametrize("bad", ["", "zh CN", "chinese-simplified-language", "z", 7])
    def test_bad_locale_refused(self, bad: object) -> None:
        """Something that is not a language tag is refused with its path."""
        with pytest.raises(tk.ValidationError, match="locale"):
            tk.from_dict(tk.Customer, {"id": "c-1", "locale": bad})

    @pytest.mark.parametrize(
        ("locale", "expected"),
        [
            (None, "Assigned to after-sales; expected within 2 hours"),
            ("zh-CN", "已分配给售后，预计 2 小时内处理"),
            ("zh_Hans_CN", "已分配给售后，预计 2 小时内处理"),
            ("de-DE", "Assigned to after-sales; expected within 2 hours"),
        ],
    )
    def test_progress_speaks_the_customers_language(self, locale: str | None, expected: str) -> None:
        """Without lang=, the customer's locale picks the language (the closest there is, else English)."""
        d, t = desk(locale)
        assert expected == d.progress(t.id, actor=tk.Actor.customer("c-1")).message

    def test_lang_wins_over_the_locale(self) -> None:
        """An explicit lang= is used whatever the customer's locale."""
        d, t = desk("zh")
        assert d.progress(t.id, actor=tk.Actor.customer("c-1"), lang="en").message.startswith("Assigned to")


class TestNotificationTexts:
    @pytest.mark.parametrize(
        ("kind", "data", "en", "zh"),
        [
            ("ticket.created", {}, "received via web", "已通过 web 收到"),
            ("ticket.assigned", {"agent": "li"}, "assigned to li", "已分配给 li"),
            ("ticket.assigned", {}, "assigned to nobody", "已分配给 无人"),
            ("status.changed", {"from": "new", "to": "open"}, "new -> open", "new -> open"),
            (
                "comment.added",
                {"comment": {"author": "li", "body": "x" * 130}},
                "new comment from li: " + "x" * 117 + "...",
                None,
            ),
            (
                "sla.warning",
                {"metric": "resolution", "due_at": "D"},
                "resolution deadline approaching (D)",
                "resolution 时限将至（D）",
            ),
            ("sla.escalated", {"metric": "resolution", "level": 1}, "escalated (resolution, level 1)", None),
            (
                "priority.changed",
                {"from": "normal", "to": "high"},
                "priority normal -> high",
                "优先级 normal -> high",
            ),
            ("ticket.merged", {"into": "T2"}, "merged into T2", "已合并到 T2"),
            ("ticket.merged", {"from": "T3"}, "merged from T3", "已合并自 T3"),
            ("ticket.deduplicated", {"channel": "phone"}, "the customer wrote again via phone", None),
            ("ticket.spawned", {"child": "T4"}, "sub-ticket T4", "子工单 T4"),
            (
                "ticket.child_resolved",
                {"child": "T4", "status": "resolved"},
                "sub-ticket T4 is resolved",
                None,
            ),
            ("custom.kind", {}, "custom.kind", "custom.kind"),
        ],
    )
    def test_each_kind(self, kind: str, data: dict[str, object], en: str, zh: str | None) -> None:
        """Each event kind reads as one line, in English and in Chinese."""
        t = tk.Ticket(subject="Zip", id="T1", created_at=AT, channel="web")
        e = tk.Event(ticket_id="T1", kind=kind, actor="system:x", at=AT, data=data)
        assert f"Ticket T1 'Zip': {en}" == _text.notification_message(e, t)
        if zh is not None:
            assert f"工单 T1 'Zip'：{zh}" == _text.notification_message(e, t, lang="zh")


ROWS = [  # status kind, team, expected within, overdue -> (English, Chinese)
    ("closed", None, None, False, ("Closed", "已关闭")),
    (
        "pending",
        "desk",
        None,
        False,
        ("With desk, waiting for a reply or for another team", "desk正在等待回复或其他部门处理"),
    ),
    ("pending", None, None, False, ("Waiting for a reply or for another team", "等待回复或其他部门处理")),
    (
        "open",
        "desk",
        None,
        True,
        (
            "Assigned to desk; taking longer than expected; we are on it",
            "已分配给desk，处理时间超出预期，我们正在加紧处理",
        ),
    ),
    ("open", None, None, False, ("Received", "已受理")),
    ("new", None, timedelta(days=3), False, ("Received; expected within 3 days", "已受理，预计 3 天内处理")),
    (
        "new",
        None,
        timedelta(seconds=30),
        False,
        ("Received; expected within 1 minute", "已受理，预计 1 分钟内处理"),
    ),
]


class TestProgressMessages:
    @pytest.mark.parametrize(("kind", "team", "within", "overdue", "texts"), ROWS)
    def test_each_state(
        self, kind: str, team: str | None, within: timedelta | None, overdue: bool, texts: tuple[str, str]
    ) -> None:
        """Each state reads as one sentence in both shipped languages (singular where one)."""
        assert texts == tuple(
            _text.progress_message(
                lang=lang, status_kind=kind, team_name=team, expected_within=within, overdue=overdue
            )
            for lang in ("en", "zh")
        )
