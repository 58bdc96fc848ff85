create or replace function {semantic}.get_monitor_runs(
  start_date date default {today} - interval 7 days comment 'First UTC date of runs included; NULL = no lower bound (and no baseline). Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC date of runs included; NULL = no upper bound. Default: today.',
  step_name string default null comment 'Step name to keep, e.g. silver; NULL (default) = every step.',
  baseline_days int default 14 comment 'Days before start_date whose successful runs of the same step give its usual duration. Default 14.'
)
returns table (
  run_id string comment 'Run of the health monitor (hm run or the Databricks job).',
  step string comment 'Step of the run plan, e.g. bronze, silver, gold, semantic, alerts, report.',
  status string comment 'ok or failed.',
  started_at timestamp comment 'When the step started (UTC).',
  seconds double comment 'How long the step took.',
  baseline_seconds double comment 'Median duration of the same step\'s successful runs in the baseline days (NULL without any).',
  ratio_to_baseline double comment 'seconds / baseline_seconds (2.0 = twice as long as usual).',
  error string comment 'Error of a failed step (what failed, where).'
)
comment 'The health monitor\'s own runs, step by step: status, duration and how the duration compares with the step\'s usual one. BEST FOR: "did the monitor run fail?", "which monitor step is slower than usual?", "how long does the silver step take?". NOT FOR: what a run ingested, rejected or reconciled (use get_pipeline_run_health), Databricks jobs of the account (get_failed_jobs, get_slow_jobs), whether the data is late (get_late_tables). Newest first.'
return
  with runs as (
    select run_id, step, status, started_at, seconds, error
    from {ops.step_log}
    where (start_date is null or cast(started_at as date) >= date_sub(start_date, baseline_days))
      and (end_date is null or cast(started_at as date) <= end_date)
      and (step_name is null or step = step_name)
  ),
  baseline as (
    select b.step as step, percentile(b.seconds, 0.5) as baseline_seconds
    from runs as b
    where cast(b.started_at as date) < start_date and b.status = 'ok'
    group by b.step
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */ r.run_id, r.step, r.status, r.started_at, r.seconds, b.baseline_seconds,
    try_divide(r.seconds, b.baseline_seconds) as ratio_to_baseline, r.error
  from runs as r
  left join baseline as b on b.step = r.step
  where start_date is null or cast(r.started_at as date) >= start_date
  order by r.started_at desc, r.step
