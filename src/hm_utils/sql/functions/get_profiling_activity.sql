create or replace function {semantic}.get_profiling_activity(
  monitor_filter string default null comment 'Monitor (gold table name) or part of it, e.g. fct_queries; NULL (default) = every monitor.'
)
returns table (
  monitor string comment 'Monitor, named after the gold table it profiles.',
  granularity string comment 'Window size (1 day, 1 week) or baseline.',
  windows bigint comment 'Windows the monitor holds.',
  rows_profiled bigint comment 'Rows of the monitored table in those windows.',
  first_window timestamp comment 'Start of the oldest window.',
  last_window timestamp comment 'Start of the newest window.',
  last_profiled_run string comment 'Run that last profiled a window of this monitor (incremental: only windows with new data are recomputed).',
  last_profiled_at timestamp comment 'When that run profiled it.'
)
comment 'What the data-profiling monitors hold and when they last worked: windows, rows covered and the last run that recomputed a window (the monitoring of the monitors). BEST FOR: "are the monitors up to date?", "how many windows does each monitor cover?", "when did profiling last run?". NOT FOR: the drift found (get_drift_alerts), the pipeline runs themselves (get_pipeline_run_health). By monitor and granularity.'
return
  select /*+ REPARTITION(1) */ w.monitor as monitor, w.granularity as granularity, count(*) as windows,
    sum(w.row_count) as rows_profiled, min(w.window_start) as first_window, max(w.window_start) as last_window,
    max_by(w.run_id, w.computed_at) as last_profiled_run, max(w.computed_at) as last_profiled_at
  from {ops.monitor_windows} as w
  where monitor_filter is null or contains(w.monitor, monitor_filter)
  group by w.monitor, w.granularity
  order by w.monitor, w.granularity
