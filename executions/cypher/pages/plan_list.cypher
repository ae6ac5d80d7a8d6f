// Every plan with its run statistics, most recently run first.
MATCH (p:Plan)
CALL (p) {
//@include pages/_plan_stats
}
RETURN p {.planId, .registered, .title, .description, .taskCount} AS plan, stats
ORDER BY stats.lastRunAt IS NULL, stats.lastRunAt DESC, p.planId
