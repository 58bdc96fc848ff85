create or replace function {semantic}.get_reconciliation_results(
  start_date date default {today} - interval 30 days comment 'First UTC date of gold builds (checks) included; NULL = no lower bound. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC date of gold builds included; NULL = no upper bound. Default: today.',
  check_filter string default null comment 'Check name or part of it to keep, e.g. list_cost; NULL (default) = every check.',
  latest_only boolean default true comment 'True (default) = only the latest gold build in the period; false = every build.'
)
returns table (
  run_id string comment 'Pipeline run whose gold build was reconciled.',
  check_name string comment 'Reconciliation check, e.g. list_cost_by_workspace_day (gold cost = bronze cost to the cent), one_owner_per_usage_row.',
  checked_at timestamp comment 'When the check ran (UTC).',
  scopes bigint comment 'Scopes checked (workspace-days, or the account).',
  failed_scopes bigint comment 'Scopes whose difference exceeded the tolerance or whose row counts differ.',
  expected_value decimal(38,10) comment 'Sum of the expected values over the scopes (e.g. bronze list cost).',
  actual_value decimal(38,10) comment 'Sum of the actual values (e.g. gold list cost).',
  max_abs_difference decimal(38,10) comment 'Largest absolute difference of a scope.',
  worst_scope string comment 'Scope with the largest absolute difference, e.g. workspace=123/date=2026-11-02.',
  passed boolean comment 'True when every scope passed.'
)
comment 'Reconciliation of the gold layer against bronze per gold build: each check (costs to the cent per workspace-day, one owner per usage row, allocation sums, job runs once) with the scopes that failed and the largest difference. BEST FOR: "do gold costs reconcile with the source?", "which check failed in the last build?", "which workspace-day is off?". NOT FOR: data-quality expectations of silver (use get_quality_gate_results), late or stale tables (get_late_tables). Failing checks first.'
return
  with results as (
    select run_id, check_name, scope, expected_value, actual_value, difference, passed, checked_at
    from {ops.reconciliation}
    where (start_date is null or cast(checked_at as date) >= start_date)
      and (end_date is null or cast(checked_at as date) <= end_date)
      and (check_filter is null or contains(check_name, check_filter))
  ),
  per_run as (
    select run_id, check_name, max(checked_at) as checked_at, count(*) as scopes, count_if(not passed) as failed_scopes,
      sum(expected_value) as expected_value, sum(actual_value) as actual_value,
      max(abs(difference)) as max_abs_difference,
      max_by(scope, abs(difference)) as worst_scope,
      bool_and(passed) as passed
    from results
    group by run_id, check_name
  ),
  latest as (
    select max_by(run_id, checked_at) as latest_run_id from per_run
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */ p.run_id, p.check_name, p.checked_at, p.scopes, p.failed_scopes, p.expected_value,
    p.actual_value, p.max_abs_difference, p.worst_scope, p.passed
  from per_run as p
  cross join latest as l
  where not latest_only or p.run_id = l.latest_run_id
  order by p.passed, p.failed_scopes desc, p.check_name, p.checked_at desc
