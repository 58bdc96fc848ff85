create or replace function {semantic}.get_spill_heavy_queries(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  min_spill_gb double default 0 comment 'Minimum GB spilled to disk for a statement to be returned (0 = any spill). Default 0.',
  top_n int default 20 comment 'Number of statements returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by GB spilled, 1 = heaviest spill.',
  statement_id string comment 'Statement id.',
  workspace_id string comment 'Workspace of the statement.',
  workspace_name string comment 'Current workspace name.',
  warehouse_id string comment 'SQL warehouse that ran it.',
  warehouse_name string comment 'Current warehouse name.',
  warehouse_size string comment 'Current t-shirt size of the warehouse (spill suggests a bigger size or a better query).',
  executed_by string comment 'Who ran it.',
  source_type string comment 'What issued it: JOB, DASHBOARD, NOTEBOOK, ...',
  start_time timestamp comment 'When it started (UTC).',
  spilled_gb double comment 'Data spilled to local disk, GB (10^9 bytes).',
  read_gb double comment 'Data read, GB.',
  shuffle_read_gb double comment 'Data read in shuffles, GB.',
  spill_to_read_ratio double comment 'spilled_gb / read_gb.',
  total_seconds double comment 'Total duration in seconds.',
  statement_preview string comment 'First 200 characters of the SQL text.'
)
comment 'SQL statements that spilled to disk (memory pressure), ranked by the amount spilled, with their warehouse size, data read and duration. BEST FOR: "which queries spill to disk?", "does warehouse x need a bigger size?", "memory-heavy queries this week". NOT FOR: slow queries in general (use get_slowest_queries), queueing (get_warehouse_queueing), cluster memory (get_cluster_utilization). Sizes in GB, durations in seconds.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  wh as (
    select workspace_id, warehouse_id, warehouse_name, warehouse_size from {gold.dim_warehouse} where is_current
  ),
  ranked as (
    select q.*, row_number() over (order by q.spilled_local_bytes desc, q.statement_id) as rank
    from {gold.fct_queries} as q
    left join ws as w on w.workspace_id = q.workspace_id and workspace is not null
    where q.query_date between start_date and end_date
      and q.spilled_local_bytes > 0
      and q.spilled_local_bytes >= min_spill_gb * 1e9
      and (workspace is null or q.workspace_id = workspace or w.workspace_name = workspace)
  )
  select
    cast(r.rank as int) as rank,
    r.statement_id as statement_id,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.warehouse_id as warehouse_id,
    h.warehouse_name as warehouse_name,
    h.warehouse_size as warehouse_size,
    r.executed_by as executed_by,
    r.source_type as source_type,
    r.start_time as start_time,
    r.spilled_local_bytes / 1e9 as spilled_gb,
    r.read_bytes / 1e9 as read_gb,
    r.shuffle_read_bytes / 1e9 as shuffle_read_gb,
    try_divide(cast(r.spilled_local_bytes as double), cast(r.read_bytes as double)) as spill_to_read_ratio,
    r.total_duration_ms / 1000.0 as total_seconds,
    left(r.statement_text, 200) as statement_preview
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join wh as h on h.workspace_id = r.workspace_id and h.warehouse_id = r.warehouse_id
  where r.rank <= top_n
  order by rank
