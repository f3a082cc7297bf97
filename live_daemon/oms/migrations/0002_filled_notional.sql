-- OMS schema v2: each order keeps the exact sum of its fills' quantity × price, so its
-- average fill price is one division of exact sums (a running average divided again at
-- every fill left a tail in the last digits: 43274.87499999999975 for 43274.875).

ALTER TABLE unified_orders
    ADD COLUMN filled_notional numeric NOT NULL DEFAULT 0 CHECK (filled_notional >= 0);

UPDATE unified_orders o
SET filled_notional = f.notional
FROM (
    SELECT order_id, sum(quantity * price) AS notional FROM fills GROUP BY order_id
) f
WHERE f.order_id = o.order_id;
