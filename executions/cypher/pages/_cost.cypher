// Fragment: the end of a CALL subquery. Needs rows of `a` (an attempt, or null) and `model`
// (_attempt_model) and $prices (pricing.PriceTable.param: each priced model, lower-cased, -> its
// prices {id, from}, newest first). Returns `cost`: the attempts' tokens (and their number) summed
// per price in force at each attempt's completion (`parts`, which pricing.cost turns into money), and how many attempts
// no price covers (`unpriced`), with the models they name. An attempt known only from QC history,
// or one without tokens, costs nothing and is left out. One row, whatever the input.
WITH a, model WHERE a.source = 'result' AND coalesce(a.tokensInput, 0) + coalesce(a.tokensOutput, 0) > 0
WITH a, model, head([p IN coalesce($prices[toLower(trim(model))], []) WHERE p.from <= a.timestamp | p.id]) AS price
WITH price, sum(a.tokensInput) AS tin, sum(a.tokensOutput) AS tout, count(*) AS attempts,
     collect(DISTINCT model) AS models
RETURN {parts: collect(CASE WHEN price IS NOT NULL THEN {price: price, tokensInput: tin, tokensOutput: tout, attempts: attempts} END),
        unpriced: coalesce(sum(CASE WHEN price IS NULL THEN attempts END), 0),
        unpricedModels: coalesce(head(collect(CASE WHEN price IS NULL THEN models END)), [])} AS cost
