create or replace function {semantic}.get_pipeline_run_health(
  run_filter string default null comment 'Run id (run folder name) or part of it; NULL (default) = every run.'
)
returns table (
  run_id string comment 'Run of the health monitor own pipeline (the run folder name).',
  tables_ingested bigint comment 'Bronze tables ingested in the run.',
  source_rows_read bigint comment 'Rows read from the system tables.',
  tables_with_warnings bigint comment 'Tables ingested with a warning (missing source, schema drift).',
  quality_rules_failed bigint comment 'Great Expectations rules that failed in silver in the run.',
  gates_failed bigint comment 'Silver tables whose quality gate failed.',
  reconciliation_checks bigint comment 'Cost reconciliation checks of the gold build.',
  reconciliation_failed bigint comment 'Reconciliation checks that failed (costs off by more than the tolerance).',
  windows_profiled bigint comment 'Monitor windows profiled by the run (0 when no new data arrived).'
)
comment 'Health of the health monitor itself ("monitor the monitor"): per pipeline run, what it ingested, which quality rules and cost reconciliations failed, and how much profiling it did. BEST FOR: "is the health monitor working?", "did the last run reject or miscount data?", "how much did the last run ingest?". NOT FOR: which step failed or ran slow and why (get_monitor_runs), the account own jobs (get_failed_jobs), data freshness (get_source_freshness). Newest run first.'
return
  with ingest as (
    select run_id, count(*) as tables_ingested, sum(source_rows_read) as source_rows_read,
      count_if(warning is not null and warning <> '') as tables_with_warnings
    from {ops.ingest_log} group by run_id
  ),
  quality as (
    select run_id, count_if(expectation <> 'accounting' and not success) as quality_rules_failed,
      count_if(expectation = 'accounting' and not success) as gates_failed
    from {ops.quality_results} group by run_id
  ),
  reconciled as (
    select run_id, count(*) as reconciliation_checks, count_if(not passed) as reconciliation_failed
    from {ops.reconciliation} group by run_id
  ),
  profiled as (select run_id, count(*) as windows_profiled from {ops.monitor_windows} group by run_id),
  runs as (
    select run_id from ingest union select run_id from quality union select run_id from reconciled
    union select run_id from profiled
  )
  select /*+ REPARTITION(1) */ r.run_id as run_id, coalesce(i.tables_ingested, 0) as tables_ingested,
    coalesce(i.source_rows_read, 0) as source_rows_read, coalesce(i.tables_with_warnings, 0) as tables_with_warnings,
    coalesce(q.quality_rules_failed, 0) as quality_rules_failed, coalesce(q.gates_failed, 0) as gates_failed,
    coalesce(c.reconciliation_checks, 0) as reconciliation_checks, coalesce(c.reconciliation_failed, 0) as reconciliation_failed,
    coalesce(p.windows_profiled, 0) as windows_profiled
  from runs as r
  left join ingest as i on i.run_id = r.run_id
  left join quality as q on q.run_id = r.run_id
  left join reconciled as c on c.run_id = r.run_id
  left join profiled as p on p.run_id = r.run_id
  where run_filter is null or contains(r.run_id, run_filter)
  order by r.run_id desc
