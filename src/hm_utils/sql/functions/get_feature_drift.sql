create or replace function {semantic}.get_feature_drift(
  start_date date default {today} - interval 14 days comment 'First UTC day of windows included. Default: 14 days ago.',
  end_date date default {today} comment 'Last UTC day of windows included. Default: today.',
  table_filter string default null comment 'Monitored gold table (a model input) or part of it, e.g. fct_usage_daily; NULL (default) = every monitor.'
)
returns table (
  table_key string comment 'Monitored gold table the models read.',
  column_name string comment 'Feature column.',
  windows bigint comment 'Daily windows compared in the period.',
  drifted_windows bigint comment 'Windows whose distribution drifted from the baseline (PSI and test).',
  max_psi double comment 'Largest population stability index vs the baseline in the period.',
  avg_psi double comment 'Mean PSI vs the baseline.',
  last_drift_at timestamp comment 'Start of the newest drifted window, NULL if none.'
)
comment 'Drift of the model inputs (the monitored gold columns) against their baseline period, summarised per feature over a period: features whose distribution left the one the models were trained on. BEST FOR: "are model inputs drifting?", "which features drift most?", "should we retrain?". NOT FOR: the drift details of one window (get_drift_alerts), model scores (get_ml_model_quality). Most drifted first.'
return
  select /*+ REPARTITION(1) */ d.table_key as table_key, d.column_name as column_name, count(*) as windows,
    count_if(d.is_drifted) as drifted_windows, round(max(d.population_stability_index), 3) as max_psi,
    round(avg(d.population_stability_index), 3) as avg_psi, max(case when d.is_drifted then d.window_start end) as last_drift_at
  from {ops.monitor_drift} as d
  where d.drift_type = 'BASELINE' and d.granularity = '1 day'
    and (start_date is null or cast(d.window_start as date) >= start_date)
    and (end_date is null or cast(d.window_start as date) <= end_date)
    and (table_filter is null or contains(d.table_key, table_filter))
  group by d.table_key, d.column_name
  order by drifted_windows desc, max_psi desc, d.table_key, d.column_name
