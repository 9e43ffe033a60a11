"""Both analytics pass the Basalt analytic contract."""

from __future__ import annotations

from basalt.testing import AnalyticContract, l3_frame, trades_frame
from basalt_characteristics.l3 import L3Characteristics
from basalt_characteristics.trades import TradeCharacteristics

TRADE_COLUMNS = [
    "TradeEventCount",
    "TradeVolume",
    "TradeHasZeroSize",
    "TradeHasCancellations",
    "TradeHasUnknownAggressorSide",
    "TradeHasKnownAggressorSide",
    "TradeHasUnknownType",
    "TradeHasUnknownMarketState",
    "TradeHasLitTrades",
    "TradePubEqualsTradeTimestampRatio",
    "TradePubTradeTimestampAvgDiffS",
    "TradeHasMultipleExecutionVenues",
    "TradeHasCrossingTrade",
    "TradeHasNegotiatedTrade",
    "TradeHasAlgorithmicTrade",
    "TradeHasBlockTrade",
    "TradeHasTradeId",
]
L3_COLUMNS = [
    "L3EventCount",
    "L3ExecutionCount",
    "L3HasExecution",
    "L3HasOrderExecuted",
    "L3HasContinuousTrading",
    "L3HasOpeningAuction",
    "L3HasClosingAuction",
    "L3HasIntradayAuction",
    "L3HasPreOpenExecution",
    "L3HasPostTradeExecution",
    "L3HasMultiRowEvent",
    "L3HasTradeId",
    "L3HasUpdates",
    "L3ExecutedWithOrdersAhead",
    "L3HasReceiveTimestamp",
    "L3HasNoOpUpdate",
    "L3SizeAheadOrdersAheadConsistent",
    "L3ExecutedNotAtTopOfBook",
    *(
        f"L3{column}{check}"
        for column in ("EventTimestamp", "EventNo", "ExchangeSequenceNo", "BMLLSequenceNo")
        for check in ("NonDecreasing", "StrictlyIncreasing")
    ),
]
TRADES = trades_frame(
    [
        {"TradeTimestamp": "2026-01-02T08:00:10", "Price": 10.0, "Size": 100.0, "AggressorSide": 1},
        {"TradeTimestamp": "2026-01-02T08:01:10", "Price": 10.5, "Size": 50.0, "ListingId": 2},
    ]
)
L3 = l3_frame(
    [
        {"TimestampNanoseconds": "2026-01-02T08:00:10", "LobAction": 2, "Side": 1, "EventNo": 1},
        {"TimestampNanoseconds": "2026-01-02T08:00:20", "LobAction": 1, "Side": 1, "EventNo": 2},
        {"TimestampNanoseconds": "2026-01-02T08:01:20", "LobAction": 3, "ListingId": 2},
    ]
)


class TestTradeCharacteristicsContract(AnalyticContract):
    analytic = TradeCharacteristics
    tables = {"trades": TRADES}
    expected_columns = TRADE_COLUMNS


class TestPrefixedTradeCharacteristicsContract(AnalyticContract):
    analytic = TradeCharacteristics
    tables = {"trades": TRADES}
    config = {"metric_prefix": "Q_"}
    expected_columns = [f"Q_{c}" for c in TRADE_COLUMNS]


class TestL3CharacteristicsContract(AnalyticContract):
    analytic = L3Characteristics
    tables = {"l3": L3}
    expected_columns = L3_COLUMNS


class TestPrefixedL3CharacteristicsContract(AnalyticContract):
    analytic = L3Characteristics
    tables = {"l3": L3}
    config = {"metric_prefix": "Q_"}
    expected_columns = [f"Q_{c}" for c in L3_COLUMNS]
