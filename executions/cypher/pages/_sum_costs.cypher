// Fragment: the body of a CALL subquery. Needs `costs` (a list of pages/_cost maps) in scope;
// returns `cost`: their sum as one such map (tokens summed per price), so that an execution's cost
// comes from its tasks' without reading their attempts again.
WITH costs, reduce(n = 0, c IN costs | n + c.unpriced) AS unpriced,
     reduce(ms = [], c IN costs | ms + [m IN c.unpricedModels WHERE NOT m IN ms]) AS models
CALL (costs) {
  UNWIND costs AS c
  UNWIND c.parts AS part
  WITH part.price AS price, sum(part.tokensInput) AS tin, sum(part.tokensOutput) AS tout,
       sum(part.attempts) AS attempts
  RETURN collect({price: price, tokensInput: tin, tokensOutput: tout, attempts: attempts}) AS parts
}
RETURN {parts: parts, unpriced: unpriced, unpricedModels: models} AS cost
