"""What the console's pages show: their strings in both languages, amounts, times, a bill's timeline.

Times are shown in China Standard Time (UTC+8), the day BeeCloud's bills and refund numbers use,
and labelled so; amounts in yuan with the fen exact. An amount typed into a form is parsed as a
decimal, never a float, and refused when it has more than two decimals.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from paygate.events import bill_succeeded, refund_finished
from paygate.history import HistoryEntry
from paygate.models import Bill, BillStatus, Refund, RefundStatus, TransferOrder, TransferStatus
from paygate.web.i18n import Catalog, Language

CHINA = timezone(timedelta(hours=8))
PROVIDER_NAMES = {"beecloud": "BeeCloud", "beilypay": "BeilyPay"}
_PLAIN_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,2})?")

CATALOG = Catalog(
    {
        "console": {"zh-CN": "paygate 控制台", "en": "paygate console"},
        "sign_in": {"zh-CN": "登录", "en": "Sign in"},
        "sign_out": {"zh-CN": "退出", "en": "Sign out"},
        "email": {"zh-CN": "邮箱", "en": "Email"},
        "password": {"zh-CN": "密码", "en": "Password"},
        "bad_credentials": {"zh-CN": "邮箱或密码不正确。", "en": "Wrong email or password."},
        "locked": {
            "zh-CN": "登录失败次数过多,账户已临时锁定,请于 {until} 后再试。",
            "en": "Too many failed sign-ins: this account is locked until {until}.",
        },
        "slow_down": {"zh-CN": "尝试过于频繁,请稍后再试。", "en": "Too many attempts. Please wait a moment."},
        "signed_out": {"zh-CN": "已退出。", "en": "You are signed out."},
        "session_over": {"zh-CN": "登录已过期,请重新登录。", "en": "Your session ended. Please sign in again."},
        "overview": {"zh-CN": "概览", "en": "Overview"},
        "payments": {"zh-CN": "收款", "en": "Payments"},
        "payouts": {"zh-CN": "代付与代收", "en": "Payouts"},
        "webhooks": {"zh-CN": "Webhooks", "en": "Webhooks"},
        "audit": {"zh-CN": "操作日志", "en": "Audit log"},
        "reconciliation": {"zh-CN": "对账", "en": "Reconciliation"},
        "run": {"zh-CN": "对账批次", "en": "Run"},
        "period": {"zh-CN": "对账区间", "en": "Period"},
        "started": {"zh-CN": "开始时间", "en": "Started"},
        "fixes": {"zh-CN": "自动修正", "en": "Fixed"},
        "mismatches": {"zh-CN": "差异", "en": "Mismatches"},
        "errors": {"zh-CN": "错误", "en": "Errors"},
        "download_csv": {"zh-CN": "下载 CSV", "en": "Download CSV"},
        "no_runs": {
            "zh-CN": "还没有对账记录(每天北京时间 02:30 自动对账)。",
            "en": "No reconciliation runs yet (one runs every day at 02:30 China time).",
        },
        "rows_dropped": {
            "zh-CN": "另有 {count} 行未显示,请下载完整报告(CLI 或 Lambda 的返回)。",
            "en": "{count} more rows are not shown here: see the full report (the CLI's file or the Lambda's answer).",
        },
        "row_kind": {"zh-CN": "类型", "en": "Row"},
        "ledger": {"zh-CN": "账本", "en": "Ledger"},
        "provider": {"zh-CN": "渠道", "en": "Provider"},
        "last_reconciliation": {"zh-CN": "最近一次对账", "en": "Last reconciliation"},
        "role_viewer": {"zh-CN": "只读", "en": "viewer"},
        "role_operator": {"zh-CN": "操作员", "en": "operator"},
        "last_30_days": {"zh-CN": "最近 30 天", "en": "Last 30 days"},
        "volume": {"zh-CN": "收款金额", "en": "Volume"},
        "success_rate": {"zh-CN": "成功率", "en": "Success rate"},
        "bills_count": {"zh-CN": "订单数", "en": "Bills"},
        "by_channel": {"zh-CN": "按渠道", "en": "By channel"},
        "by_day": {"zh-CN": "按天", "en": "By day"},
        "sampled": {
            "zh-CN": "按最近 {count} 笔订单统计。",
            "en": "From the newest {count} bills.",
        },
        "recent_bills": {"zh-CN": "最近的订单", "en": "Recent bills"},
        "failing_endpoints": {"zh-CN": "投递失败的 Webhook", "en": "Failing webhook endpoints"},
        "none": {"zh-CN": "无", "en": "None"},
        "bill_no": {"zh-CN": "订单号", "en": "Bill no."},
        "refund_no": {"zh-CN": "退款单号", "en": "Refund no."},
        "title": {"zh-CN": "标题", "en": "Title"},
        "channel": {"zh-CN": "渠道", "en": "Channel"},
        "amount": {"zh-CN": "金额", "en": "Amount"},
        "status": {"zh-CN": "状态", "en": "Status"},
        "created": {"zh-CN": "创建时间", "en": "Created"},
        "paid_at": {"zh-CN": "支付时间", "en": "Paid"},
        "refunded": {"zh-CN": "已退款", "en": "Refunded"},
        "any": {"zh-CN": "全部", "en": "Any"},
        "from": {"zh-CN": "从", "en": "From"},
        "to": {"zh-CN": "到", "en": "To"},
        "search": {"zh-CN": "查找", "en": "Search"},
        "filter": {"zh-CN": "筛选", "en": "Filter"},
        "next_page": {"zh-CN": "下一页", "en": "Next page"},
        "no_bills": {"zh-CN": "没有符合条件的订单。", "en": "No bills match."},
        "not_found": {"zh-CN": "找不到", "en": "Not found"},
        "not_found_text": {
            "zh-CN": "没有这条记录,或者它不属于你的应用。",
            "en": "There is no such record, or it is not your app's.",
        },
        "forbidden": {"zh-CN": "没有权限", "en": "Not allowed"},
        "forbidden_text": {
            "zh-CN": "你的角色只能查看,不能执行这个操作。",
            "en": "Your role can view, not act. Ask an operator.",
        },
        "bad_form": {
            "zh-CN": "表单已失效,请刷新页面后重试。",
            "en": "This form is no longer valid. Reload the page and try again.",
        },
        "timeline": {"zh-CN": "时间线", "en": "Timeline"},
        "refunds": {"zh-CN": "退款", "en": "Refunds"},
        "refund": {"zh-CN": "退款", "en": "Refund"},
        "refund_amount": {"zh-CN": "退款金额(元)", "en": "Amount to refund (yuan)"},
        "refundable": {"zh-CN": "可退 ¥{amount}", "en": "¥{amount} can be refunded"},
        "confirm_refund": {
            "zh-CN": "我确认退款给付款人,此操作不可撤销。",
            "en": "I confirm: refund the payer. This cannot be undone.",
        },
        "refund_started": {"zh-CN": "退款 {refund_no} 已提交。", "en": "Refund {refund_no} was submitted."},
        "refresh": {"zh-CN": "向渠道查询最新状态", "en": "Refresh from provider"},
        "refreshed": {"zh-CN": "已向渠道查询。", "en": "Asked the provider."},
        "bad_amount": {
            "zh-CN": "请输入大于 0、最多两位小数的金额。",
            "en": "Enter an amount above 0 with at most two decimals.",
        },
        "confirm_needed": {"zh-CN": "请勾选确认。", "en": "Tick the confirmation first."},
        "events": {"zh-CN": "事件与投递", "en": "Events and deliveries"},
        "endpoint": {"zh-CN": "地址", "en": "Endpoint"},
        "event_types": {"zh-CN": "事件类型", "en": "Event types"},
        "deliveries": {"zh-CN": "投递记录", "en": "Deliveries"},
        "event": {"zh-CN": "事件", "en": "Event"},
        "attempt": {"zh-CN": "次数", "en": "Attempt"},
        "response": {"zh-CN": "响应", "en": "Response"},
        "latency": {"zh-CN": "耗时", "en": "Latency"},
        "error": {"zh-CN": "错误", "en": "Error"},
        "when": {"zh-CN": "时间", "en": "When"},
        "resend": {"zh-CN": "重新投递", "en": "Resend"},
        "resent": {"zh-CN": "事件 {event_id} 已重新排队投递。", "en": "Event {event_id} was queued again."},
        "no_endpoints": {"zh-CN": "还没有 Webhook 地址。", "en": "No webhook endpoints yet."},
        "no_deliveries": {"zh-CN": "还没有投递记录。", "en": "No deliveries yet."},
        "actor": {"zh-CN": "操作人", "en": "Who"},
        "action": {"zh-CN": "操作", "en": "What"},
        "target": {"zh-CN": "对象", "en": "On"},
        "outcome": {"zh-CN": "结果", "en": "Outcome"},
        "source": {"zh-CN": "来源", "en": "From"},
        "no_audit": {"zh-CN": "还没有操作记录。", "en": "Nothing recorded yet."},
        "times_in": {"zh-CN": "时间为北京时间(UTC+8)", "en": "Times in China Standard Time (UTC+8)"},
        "ev_created": {"zh-CN": "订单创建", "en": "Bill created"},
        "ev_provider_created": {"zh-CN": "BeeCloud 已返回支付参数", "en": "BeeCloud returned the payment parameters"},
        "ev_provider_rejected": {"zh-CN": "BeeCloud 拒绝了订单", "en": "BeeCloud refused the bill"},
        "ev_provider_unknown": {"zh-CN": "BeeCloud 结果未知,待查询", "en": "BeeCloud's answer unknown; to be asked"},
        "ev_paid": {"zh-CN": "支付成功(已验签的通知)", "en": "Paid (signed notification matched the ledger)"},
        "ev_reconciled": {"zh-CN": "对账确认", "en": "Settled by reconciliation"},
        "ev_refund_created": {
            "zh-CN": "退款 {refund_no} 提交 ¥{amount}",
            "en": "Refund {refund_no} of ¥{amount} submitted",
        },
        "ev_refund_succeeded": {"zh-CN": "退款 {refund_no} 成功", "en": "Refund {refund_no} succeeded"},
        "ev_refund_failed": {"zh-CN": "退款 {refund_no} 失败", "en": "Refund {refund_no} failed"},
        "ev_delivery": {
            "zh-CN": "{event_type} 投递到 {endpoint}: {outcome}",
            "en": "{event_type} delivered to {endpoint}: {outcome}",
        },
        "h_callback_accepted": {
            "zh-CN": "收到 {source} 的通知,已验签并核对账本({outcome})",
            "en": "{source} notification accepted: signature and ledger match ({outcome})",
        },
        "h_callback_refused": {
            "zh-CN": "收到 {source} 的通知,已拒绝:{reason}",
            "en": "{source} notification refused: {reason}",
        },
        "h_status": {"zh-CN": "状态变为 {status}(来源:{by})", "en": "Status became {status} (by {by})"},
        "h_event": {"zh-CN": "已发布事件 {event_type}", "en": "Published {event_type}"},
        "h_provider_created": {"zh-CN": "{provider} 已受理", "en": "{provider} accepted it"},
        "h_provider_rejected": {"zh-CN": "{provider} 拒绝:{code}", "en": "{provider} refused it: {code}"},
        "h_provider_unknown": {
            "zh-CN": "{provider} 的结果未知:{reason}",
            "en": "{provider}'s answer was lost: {reason}",
        },
        "h_other": {"zh-CN": "{what}", "en": "{what}"},
        "pending": {"zh-CN": "处理中", "en": "pending"},
        "succeeded": {"zh-CN": "成功", "en": "succeeded"},
        "failed": {"zh-CN": "失败", "en": "failed"},
        "unknown": {"zh-CN": "结果未知", "en": "unknown"},
        "collections": {"zh-CN": "代收", "en": "Collections"},
        "payouts_only": {"zh-CN": "代付", "en": "Payouts"},
        "out_order_no": {"zh-CN": "商户单号", "en": "Order no."},
        "provider_order_no": {"zh-CN": "BeilyPay 单号", "en": "BeilyPay order no."},
        "beneficiary": {"zh-CN": "收款人", "en": "Beneficiary"},
        "paid_amount": {"zh-CN": "实付", "en": "Paid"},
        "balance": {"zh-CN": "BeilyPay 可用余额", "en": "BeilyPay balance available"},
        "balance_unavailable": {
            "zh-CN": "暂时无法获取余额(未配置 BeilyPay 或渠道无响应)。",
            "en": "The balance cannot be read now (no BeilyPay account, or BeilyPay does not answer).",
        },
        "unknown_heading": {"zh-CN": "结果未知:请勿重复付款", "en": "Outcome unknown: do not pay again"},
        "unknown_help": {
            "zh-CN": "paygate 还不知道 BeilyPay 是否执行了这笔订单。迟到的通知或每日对账会确定结果;"
            "在此之前不要重新发起代付。需要时请把 BeilyPay 单号交给 BeilyPay 核实。",
            "en": "paygate does not know yet whether BeilyPay carried this order out. A late notification or "
            "the daily reconciliation will settle it; until then, never issue the payout again. If it lasts, "
            "give BeilyPay its order number to check.",
        },
        "unknown_count": {"zh-CN": "{count} 笔结果未知", "en": "{count} with an unknown outcome"},
        "pending_count": {"zh-CN": "{count} 笔处理中", "en": "{count} pending"},
        "no_orders": {"zh-CN": "没有符合条件的订单。", "en": "No orders match."},
        "ev_transfer_created": {"zh-CN": "订单创建", "en": "Order created"},
        "ev_transfer_provider_created": {"zh-CN": "BeilyPay 已受理", "en": "BeilyPay accepted it"},
        "ev_transfer_provider_rejected": {"zh-CN": "BeilyPay 拒绝了订单", "en": "BeilyPay refused it"},
        "ev_transfer_unknown": {"zh-CN": "结果未知", "en": "Outcome unknown"},
        "ev_transfer_succeeded": {"zh-CN": "成功", "en": "Succeeded"},
        "ev_transfer_failed": {"zh-CN": "失败", "en": "Failed"},
        "ev_published": {"zh-CN": "已发布事件 {event_type}", "en": "Published {event_type}"},
        "transfer_no_beilypay": {"zh-CN": "这个应用没有 BeilyPay 账户。", "en": "This app has no BeilyPay account."},
        "endpoints_failing": {
            "zh-CN": "{count} 个地址最近一次投递失败",
            "en": "{count} endpoints failed their last delivery",
        },
        "all_endpoints_ok": {"zh-CN": "所有地址最近一次投递成功", "en": "Every endpoint's last delivery succeeded"},
        "day": {"zh-CN": "日期", "en": "Day"},
        "chart_volume": {
            "zh-CN": "每日成功收款金额(元),最近 30 天",
            "en": "Paid volume per day (yuan), last 30 days",
        },
        "chart_rate": {"zh-CN": "每日成功率,最近 30 天", "en": "Success rate per day, last 30 days"},
        "add_endpoint": {"zh-CN": "添加 Webhook 地址", "en": "Add a webhook endpoint"},
        "url": {"zh-CN": "URL", "en": "URL"},
        "event_types_hint": {
            "zh-CN": "事件类型,逗号分隔,例如 bill.*, refund.succeeded 或 *",
            "en": "Event types, comma-separated, e.g. bill.*, refund.succeeded or *",
        },
        "description": {"zh-CN": "说明", "en": "Description"},
        "create": {"zh-CN": "创建", "en": "Create"},
        "delete_endpoint": {"zh-CN": "删除此地址", "en": "Delete this endpoint"},
        "rotate_secret": {"zh-CN": "更换签名密钥", "en": "Rotate the signing secret"},
        "secret_once": {
            "zh-CN": "新的签名密钥(只显示这一次,请立即保存):",
            "en": "The new signing secret (shown only this once; store it now):",
        },
        "endpoint_deleted": {"zh-CN": "地址已删除。", "en": "The endpoint was deleted."},
        "confirm_delete": {
            "zh-CN": "我确认删除此地址,待投递的事件将被丢弃。",
            "en": "I confirm: delete it; deliveries still queued for it are dropped.",
        },
    }
)


def rupees(paise: int) -> str:
    sign = "-" if paise < 0 else ""
    paise = abs(paise)
    return f"{sign}{paise // 100:,}.{paise % 100:02d}"


def strings_for(language: Language) -> dict[str, str]:
    return CATALOG.for_language(language)


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def parse_yuan(text: str | None) -> int | None:
    """Fen from what a person typed ("12.3", "12.30", "1,234", "¥8"), or None unless it is a plain positive amount.

    Plain: digits, at most two decimals; no sign, exponent or other spelling a person would not mean.
    """
    cleaned = (text or "").strip().replace(",", "").removeprefix("¥")
    if not _PLAIN_AMOUNT.fullmatch(cleaned):
        return None
    fen = int(Decimal(cleaned) * 100)
    return fen if fen > 0 else None


def china_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S")


def china_day_start_ms(day: str) -> int | None:
    """Midnight (UTC+8) of a YYYY-MM-DD day, or None when it is not one."""
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=CHINA)
    except ValueError:
        return None
    return int(start.timestamp() * 1000)


def china_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=CHINA).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class TimelineEntry:
    at_ms: int | None
    text: str
    tone: str = ""  # "good", "bad" or "" (a CSS class)

    @property
    def when(self) -> str:
        return china_time(self.at_ms)


@dataclass(frozen=True)
class DeliveryFact:
    """One delivery attempt of one of the bill's events, as the timeline shows it."""

    at_ms: int
    event_type: str
    endpoint_url: str
    outcome: str
    ok: bool


def timeline(
    bill: Bill,
    refunds: Iterable[Refund],
    deliveries: Iterable[DeliveryFact],
    strings: dict[str, str],
    history: Mapping[str, list[HistoryEntry]] | None = None,
) -> list[TimelineEntry]:
    """What happened to a bill, oldest first.

    From its recorded history (`history`: the bill's entries under its bill_no, each refund's under
    its refund_no) where there is one, else from what the ledger holds (orders older than the
    history); and the delivery log's attempts for its events.
    """
    recorded = history or {}
    entries = [TimelineEntry(bill.created_at_ms, strings["ev_created"])]
    if recorded.get(bill.bill_no):
        entries += history_timeline(recorded[bill.bill_no], strings, provider="BeeCloud")
    else:
        entries += _bill_ledger_entries(bill, strings)
    for refund in refunds:
        entries.append(
            TimelineEntry(
                refund.created_at_ms,
                strings["ev_refund_created"].format(refund_no=refund.refund_no, amount=yuan(refund.refund_fee)),
            )
        )
        if recorded.get(refund.refund_no):
            prefix = f"{strings['refund']} {refund.refund_no}: "
            entries += history_timeline(recorded[refund.refund_no], strings, provider="BeeCloud", prefix=prefix)
        elif refund.status is not RefundStatus.PENDING:
            good = refund.status is RefundStatus.SUCCEEDED
            key = "ev_refund_succeeded" if good else "ev_refund_failed"
            entries.append(
                TimelineEntry(
                    refund.finished_at_ms or refund.updated_at_ms,
                    strings[key].format(refund_no=refund.refund_no),
                    "good" if good else "bad",
                )
            )
    for fact in deliveries:
        text = strings["ev_delivery"].format(
            event_type=fact.event_type, endpoint=fact.endpoint_url, outcome=fact.outcome
        )
        entries.append(TimelineEntry(fact.at_ms, text, "good" if fact.ok else "bad"))
    return _in_order(entries)


def _bill_ledger_entries(bill: Bill, strings: dict[str, str]) -> list[TimelineEntry]:
    entries = []
    provider = {
        "created": ("ev_provider_created", ""),
        "rejected": ("ev_provider_rejected", "bad"),
        "unknown": ("ev_provider_unknown", ""),
    }.get(bill.provider_state)
    if provider:
        text = strings[provider[0]]
        if bill.failure_code:
            text += f" ({bill.failure_code}: {bill.failure_message or ''})"
        entries.append(TimelineEntry(None, text, provider[1]))
    if bill.status is BillStatus.SUCCEEDED:
        key = "ev_reconciled" if bill.reconciled_by else "ev_paid"
        entries.append(TimelineEntry(bill.paid_at_ms or bill.updated_at_ms, strings[key], "good"))
    return entries


def event_ids_of(bill: Bill, refunds: Iterable[Refund]) -> dict[str, str]:
    """The deterministic ids of the events a bill and its refunds published: event_id -> event type."""
    found: dict[str, str] = {}
    if bill.status is BillStatus.SUCCEEDED:
        event = bill_succeeded(bill)
        found[event.event_id] = event.detail_type
    for refund in refunds:
        if refund.status is not RefundStatus.PENDING:
            event = refund_finished(refund)
            found[event.event_id] = event.detail_type
    return found


def today_china(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(CHINA).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class DayFigures:
    """One China day of bills: how many, how many paid, and the paid volume in fen."""

    day: str
    bills: int = 0
    succeeded: int = 0
    volume_fen: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.bills if self.bills else None


def daily_figures(bills: Iterable[Bill], now_ms: int, days: int = 30) -> list[DayFigures]:
    """The last `days` China days, oldest first, days without bills included (as zeros)."""
    today = datetime.fromtimestamp(now_ms / 1000, tz=CHINA).date()
    order = [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]
    counts = {day: [0, 0, 0] for day in order}
    for bill in bills:
        figures = counts.get(china_day(bill.created_at_ms))
        if figures is None:
            continue
        figures[0] += 1
        if bill.status is BillStatus.SUCCEEDED:
            figures[1] += 1
            figures[2] += bill.total_fee
    return [DayFigures(day, *counts[day]) for day in order]


def channel_figures(bills: Iterable[Bill]) -> list[tuple[str, int, int, int]]:
    """(channel, bills, succeeded, paid volume in fen) per channel, the busiest first."""
    by_channel: dict[str, list[int]] = {}
    for bill in bills:
        figures = by_channel.setdefault(bill.channel.value, [0, 0, 0])
        figures[0] += 1
        if bill.status is BillStatus.SUCCEEDED:
            figures[1] += 1
            figures[2] += bill.total_fee
    return sorted(((c, *f) for c, f in by_channel.items()), key=lambda row: (-row[1], row[0]))  # type: ignore[misc]


def bar_chart_svg(bars: list[tuple[str, float, str]], *, label: str, width: int = 640, height: int = 150) -> str:
    """A bar chart as inline SVG, drawn on the server: no script, no style attribute (the CSP allows neither).

    bars: (x label, value, the value as text for the bar's tooltip). Every fifth x label is written,
    and the tallest bar's value at the top left, as the scale.
    """
    top_value, top_text = max(((value, text) for _, value, text in bars), default=(0.0, ""))
    top = top_value or 1.0
    margin, plot_top, plot_bottom = 24, 16, height - 24
    slot = (width - 2 * margin) / max(len(bars), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{margin}" y1="{plot_bottom}" x2="{width - margin}" y2="{plot_bottom}" stroke="#d0d7de"/>',
    ]
    if top_value:
        parts.append(
            f'<line x1="{margin}" y1="{plot_top}" x2="{width - margin}" y2="{plot_top}" stroke="#eaeef2"/>'
            f'<text x="{margin}" y="{plot_top - 4}" font-size="11" fill="#59636e">{html.escape(top_text)}</text>'
        )
    for position, (x_label, value, text) in enumerate(bars):
        bar_height = round((plot_bottom - plot_top) * value / top, 1)
        x = round(margin + position * slot + slot * 0.15, 1)
        parts.append(
            f'<rect x="{x}" y="{round(plot_bottom - bar_height, 1)}" width="{round(slot * 0.7, 1)}" '
            f'height="{bar_height}" fill="#0a7d4f"><title>{html.escape(x_label)}: {html.escape(text)}</title></rect>'
        )
        if position % 5 == 0 or position == len(bars) - 1:
            parts.append(
                f'<text x="{round(margin + position * slot + slot / 2, 1)}" y="{height - 6}" font-size="11" '
                f'text-anchor="middle" fill="#59636e">{html.escape(x_label[5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def transfer_timeline(
    order: TransferOrder, strings: dict[str, str], history: list[HistoryEntry] | None = None
) -> list[TimelineEntry]:
    """What happened to a payout or collection, oldest first: its recorded history, else the ledger's facts."""
    entries = [TimelineEntry(order.created_at_ms, strings["ev_transfer_created"])]
    if history:
        return _in_order(entries + history_timeline(history, strings, provider="BeilyPay"))
    answer = {
        "created": ("ev_transfer_provider_created", ""),
        "rejected": ("ev_transfer_provider_rejected", "bad"),
    }.get(order.provider_state)
    if answer:
        entries.append(TimelineEntry(None, strings[answer[0]], answer[1]))
    if order.unknown_at_ms is not None:
        reason = f" ({order.unknown_reason})" if order.unknown_reason else ""
        entries.append(TimelineEntry(order.unknown_at_ms, strings["ev_transfer_unknown"] + reason, "bad"))
    if order.status in (TransferStatus.SUCCEEDED, TransferStatus.FAILED):
        good = order.status is TransferStatus.SUCCEEDED
        text = strings["ev_transfer_succeeded" if good else "ev_transfer_failed"]
        if order.failure_code:
            text += f" ({order.failure_code}: {order.failure_message or ''})"
        entries.append(TimelineEntry(order.finished_at_ms or order.updated_at_ms, text, "good" if good else "bad"))
    if order.published_event:
        entries.append(
            TimelineEntry(
                order.finished_at_ms or order.updated_at_ms,
                strings["ev_published"].format(event_type=order.published_event),
            )
        )
    return _in_order(entries)


def _in_order(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Oldest first; an entry without a time (a provider's answer) stays right after the one before it."""
    keyed: list[tuple[tuple[int, int], TimelineEntry]] = []
    last_known = 0
    for position, entry in enumerate(entries):
        last_known = entry.at_ms if entry.at_ms is not None else last_known
        keyed.append(((last_known, position), entry))
    return [entry for _, entry in sorted(keyed, key=lambda pair: pair[0])]


def history_timeline(
    entries: Iterable[HistoryEntry], strings: dict[str, str], *, provider: str, prefix: str = ""
) -> list[TimelineEntry]:
    """An order's recorded history as timeline entries: notifications (refused ones too, and why),
    status changes and what made them, events published, the provider's answer."""
    found = []
    for entry in entries:
        detail = {key: str(value) for key, value in entry.detail.items()}
        source = PROVIDER_NAMES.get(detail.get("source", ""), provider)
        what = entry.what
        if what == "callback.accepted":
            text, tone = strings["h_callback_accepted"].format(source=source, outcome=detail.get("outcome", "")), "good"
        elif what == "callback.refused":
            text, tone = strings["h_callback_refused"].format(source=source, reason=detail.get("reason", "")), "bad"
        elif what.startswith("status."):
            status = what.removeprefix("status.")
            label = strings.get(status, status)
            text = strings["h_status"].format(status=label, by=detail.get("by", ""))
            tone = "good" if status == "succeeded" else "bad" if status in ("failed", "unknown") else ""
        elif what == "event.published":
            text, tone = strings["h_event"].format(event_type=detail.get("event_type", "")), ""
        elif what == "provider.created":
            text, tone = strings["h_provider_created"].format(provider=provider), ""
        elif what == "provider.rejected":
            code = detail.get("provider_code") or detail.get("code", "")
            text, tone = strings["h_provider_rejected"].format(provider=provider, code=code), "bad"
        elif what == "provider.unknown":
            text, tone = strings["h_provider_unknown"].format(provider=provider, reason=detail.get("reason", "")), "bad"
        else:
            text, tone = strings["h_other"].format(what=what), ""
        found.append(TimelineEntry(entry.at_ms, prefix + text, tone))
    return found


def merged_timeline(*parts: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """Several timelines as one, oldest first (entries without a time keep their place)."""
    return _in_order([entry for part in parts for entry in part])
