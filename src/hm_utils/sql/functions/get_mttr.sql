create or replace function {semantic}.get_mttr(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by mean time to recovery, 1 = slowest to recover (jobs still broken first).',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  incidents bigint comment 'Failure episodes: a failed run after a success (or the first run), with the failures that follow it.',
  recovered_incidents bigint comment 'Episodes ended by a successful run.',
  failed_runs bigint comment 'Failed runs across the episodes.',
  mttr_minutes double comment 'Mean minutes from the end of the first failed run of an episode to the end of the next successful run.',
  max_recovery_minutes double comment 'Longest recovery in minutes.',
  open_incident_since timestamp comment 'End of the first failed run of an episode not recovered yet (UTC); NULL when the job has recovered.',
  last_incident_time timestamp comment 'End of the first failed run of the latest episode (UTC).'
)
comment 'Mean time to recovery per job: failure episodes (consecutive failed runs), how long until the next successful run, and episodes still open. BEST FOR: "how quickly do we recover from job failures?", "MTTR per job this month", "which jobs are still broken?". NOT FOR: the list of failures (use get_failed_jobs), flaky jobs (get_flaky_jobs), an event-by-event history (get_incident_timeline). Times in minutes and UTC.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.workspace_id as workspace_id, r.job_id as job_id, r.start_time as start_time, r.end_time as end_time,
      r.is_failure as is_failure, r.is_success as is_success,
      lag(r.is_failure) over (partition by r.workspace_id, r.job_id order by r.start_time, r.run_id) as previous_failure
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and r.is_completed and (r.is_failure or r.is_success)
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  episodes as (
    select workspace_id, job_id, start_time as failed_start, end_time as failed_at
    from runs
    where is_failure and not coalesce(previous_failure, false)
  ),
  recoveries as (
    select e.workspace_id as workspace_id, e.job_id as job_id, e.failed_start as failed_start, e.failed_at as failed_at,
      min(case when s.is_success then s.end_time end) as recovered_at
    from episodes as e
    left join runs as s on s.workspace_id = e.workspace_id and s.job_id = e.job_id and s.start_time > e.failed_start
    group by e.workspace_id, e.job_id, e.failed_start, e.failed_at
  ),
  episode_runs as (
    select c.workspace_id as workspace_id, c.job_id as job_id, c.failed_at as failed_at, c.recovered_at as recovered_at,
      (unix_seconds(c.recovered_at) - unix_seconds(c.failed_at)) / 60.0 as recovery_minutes,
      count(f.start_time) as failed_runs
    from recoveries as c
    left join runs as f on f.workspace_id = c.workspace_id and f.job_id = c.job_id and f.is_failure
      and f.start_time >= c.failed_start and (c.recovered_at is null or f.end_time <= c.recovered_at)
    group by c.workspace_id, c.job_id, c.failed_at, c.recovered_at
  ),
  per_job as (
    select workspace_id, job_id, count(*) as incidents, count(recovered_at) as recovered_incidents,
      sum(failed_runs) as failed_runs, avg(recovery_minutes) as mttr_minutes, max(recovery_minutes) as max_recovery_minutes,
      min(case when recovered_at is null then failed_at end) as open_incident_since, max(failed_at) as last_incident_time
    from episode_runs
    group by workspace_id, job_id
  )
  select
    cast(row_number() over (order by p.open_incident_since is null, p.mttr_minutes desc nulls last, p.job_id) as int) as rank,
    p.workspace_id as workspace_id,
    coalesce(w.workspace_name, p.workspace_id) as workspace_name,
    p.job_id as job_id,
    j.job_name as job_name,
    p.incidents as incidents,
    p.recovered_incidents as recovered_incidents,
    p.failed_runs as failed_runs,
    p.mttr_minutes as mttr_minutes,
    p.max_recovery_minutes as max_recovery_minutes,
    p.open_incident_since as open_incident_since,
    p.last_incident_time as last_incident_time
  from per_job as p
  left join ws as w on w.workspace_id = p.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = p.workspace_id and j.job_id = p.job_id and j.is_current
  order by rank
