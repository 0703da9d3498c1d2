-- Merchants of the market-4.0 programme: each merchant's latest onboarding state.
-- `changed_at` is the occurred_at of the latest merchant.onboarded / merchant.offboarded applied
-- (an offboarding wins a tie), so events merge in any order (sources/market/state.py).
CREATE TABLE IF NOT EXISTS market_merchants (
    merchant_id text        PRIMARY KEY,
    market      text        NOT NULL,
    district    text        NOT NULL,
    commune     text        NOT NULL,
    provider    text        NOT NULL,
    onboarded   boolean     NOT NULL,
    changed_at  timestamptz NOT NULL
);
COMMENT ON TABLE market_merchants IS
    'Market-4.0 merchants: onboarded or not, by the latest of their onboarding events (market.merchants).';
