"""KFTC codes PortOne uses with the NICE old module (portone-v1.md §10.3, §10.4), and
the MIDs and channel keys of the sandbox account's PG settings."""

from __future__ import annotations

from typing import Final

#: Card companies by KFTC code, as ``card_code`` / ``card_name`` report them.
CARD_COMPANIES: Final[dict[str, str]] = {
    "361": "BC카드",
    "381": "KB국민카드",
    "367": "현대카드",
    "365": "삼성카드",
    "368": "롯데카드",
    "371": "NH카드",
    "041": "우리카드",
    "374": "하나카드",
    "045": "새마을금고",
    "373": "제주카드",
    "364": "광주카드",
    "366": "신한카드",
    "002": "KDB산업은행",
    "369": "수협카드",
    "048": "신협",
    "370": "씨티카드",
    "071": "우체국",
    "089": "케이뱅크",
    "372": "전북카드",
    "090": "카카오뱅크",
}

#: Banks by 3-digit KFTC code, for ``vbank_code``, ``bank_code`` and ``refund_bank``.
BANKS: Final[dict[str, str]] = {
    "004": "KB국민은행",
    "023": "SC제일은행",
    "039": "경남은행",
    "034": "광주은행",
    "003": "기업은행",
    "011": "농협",
    "031": "대구은행",
    "032": "부산은행",
    "002": "산업은행",
    "045": "새마을금고",
    "007": "수협",
    "088": "신한은행",
    "048": "신협",
    "081": "하나은행",
    "020": "우리은행",
    "071": "우체국",
    "037": "전북은행",
    "012": "축협",
    "090": "카카오뱅크",
    "089": "케이뱅크",
    "027": "한국씨티은행",
    "092": "토스뱅크",
}

#: Bank used when a checkout names none (transfers and virtual accounts).
DEFAULT_BANK: Final = "088"

# The sandbox account's four NICE PG settings (see .pg_settings). Its live ones
# are, by definition, the sandbox's live money: a payment through them is one a
# store may count as paid. The test ones move no money.

#: The live MID of the payment window, its default setting.
WINDOW_MID: Final = "nictest00m"
WINDOW_CHANNEL_KEY: Final = "channel-key-sandbox-window"
#: The live MID of API payments (billing keys, key-in, schedules, vbanks).
API_MID: Final = "nictest04m"
API_CHANNEL_KEY: Final = "channel-key-sandbox-api"
#: A test-mode window MID: NICE's general test MID (portone-v1.md §12).
TEST_WINDOW_MID: Final = "nicepay00m"
TEST_WINDOW_CHANNEL_KEY: Final = "channel-key-sandbox-test-window"
#: A test-mode API MID, in the pattern of NICE's public test MIDs
#: (``nictest00m``, ``nictest04m``) and distinct from the three above.
TEST_API_MID: Final = "nictest01m"
TEST_API_CHANNEL_KEY: Final = "channel-key-sandbox-test-api"
