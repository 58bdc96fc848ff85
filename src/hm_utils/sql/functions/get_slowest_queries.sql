create or replace function {semantic}.get_slowest_queries(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  warehouse string default null comment 'SQL warehouse id or name to keep; NULL (default) = all compute.',
  top_n int default 20 comment 'Number of statements returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by total duration, 1 = slowest statement.',
  statement_id string comment 'Statement id (look it up in fct_queries).',
  workspace_id string comment 'Workspace of the statement.',
  workspace_name string comment 'Current workspace name.',
  warehouse_id string comment 'SQL warehouse that ran it (NULL for other compute).',
  warehouse_name string comment 'Current warehouse name.',
  executed_by string comment 'Who ran it.',
  statement_type string comment 'SELECT, INSERT, MERGE, ...',
  source_type string comment 'What issued it: JOB, DASHBOARD, NOTEBOOK, GENIE, SQL_QUERY, ...',
  execution_status string comment 'FINISHED, FAILED or CANCELED.',
  start_time timestamp comment 'When it was received (UTC).',
  total_seconds double comment 'Total time from receipt to result, seconds.',
  queued_seconds double comment 'Seconds waiting for compute or for capacity.',
  compilation_seconds double comment 'Seconds optimising and compiling.',
  execution_seconds double comment 'Seconds executing.',
  read_gb double comment 'Data read in GB (10^9 bytes).',
  spilled_gb double comment 'Data spilled to local disk in GB.',
  produced_rows bigint comment 'Rows returned.',
  statement_preview string comment 'First 200 characters of the SQL text.'
)
comment 'The slowest SQL statements of a period with where their time went (queued, compiling, executing), data read and spilled, who ran them and from where. BEST FOR: "what were the slowest queries this week?", "slow queries on warehouse x", "which dashboard queries take longest?". NOT FOR: failed statements (use get_query_failures), queueing per warehouse (get_warehouse_queueing), memory-bound queries (get_spill_heavy_queries). Durations in seconds.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  wh as (
    select workspace_id, warehouse_id, warehouse_name from {gold.dim_warehouse} where is_current
  ),
  ranked as (
    select q.*, h.warehouse_name as warehouse_name,
      row_number() over (order by q.total_duration_ms desc nulls last, q.statement_id) as rank
    from {gold.fct_queries} as q
    left join ws as w on w.workspace_id = q.workspace_id and workspace is not null
    left join wh as h on h.workspace_id = q.workspace_id and h.warehouse_id = q.warehouse_id
    where q.query_date between start_date and end_date
      and (workspace is null or q.workspace_id = workspace or w.workspace_name = workspace)
      and (warehouse is null or q.warehouse_id = warehouse or h.warehouse_name = warehouse)
  )
  select
    cast(r.rank as int) as rank,
    r.statement_id as statement_id,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.warehouse_id as warehouse_id,
    r.warehouse_name as warehouse_name,
    r.executed_by as executed_by,
    r.statement_type as statement_type,
    r.source_type as source_type,
    r.execution_status as execution_status,
    r.start_time as start_time,
    r.total_duration_ms / 1000.0 as total_seconds,
    r.queued_ms / 1000.0 as queued_seconds,
    r.compilation_ms / 1000.0 as compilation_seconds,
    r.execution_ms / 1000.0 as execution_seconds,
    r.read_bytes / 1e9 as read_gb,
    r.spilled_local_bytes / 1e9 as spilled_gb,
    r.produced_rows as produced_rows,
    left(r.statement_text, 200) as statement_preview
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
