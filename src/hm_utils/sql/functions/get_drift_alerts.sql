create or replace function {semantic}.get_drift_alerts(
  start_date date default {today} - interval 14 days comment 'First UTC day of windows included. Default: 14 days ago.',
  end_date date default {today} comment 'Last UTC day of windows included. Default: today.',
  drift_type string default 'CONSECUTIVE' comment 'CONSECUTIVE (default: vs the previous window) or BASELINE (vs the first days of the table); NULL = both.',
  table_filter string default null comment 'Monitored gold table or part of it, e.g. fct_queries; NULL (default) = every monitor.'
)
returns table (
  table_key string comment 'Monitored gold table, e.g. gold.fct_queries.',
  column_name string comment 'Column whose distribution moved.',
  granularity string comment 'Window size, e.g. 1 day.',
  window_start timestamp comment 'Start of the window that drifted (UTC).',
  drift_type string comment 'CONSECUTIVE or BASELINE.',
  population_stability_index double comment 'PSI between the window and its comparison (> 0.25: significant shift).',
  ks_statistic double comment 'Kolmogorov-Smirnov statistic (numeric columns).',
  ks_pvalue double comment 'p-value of the KS test.',
  chi_squared_pvalue double comment 'p-value of the chi-squared test (categorical columns).',
  js_distance double comment 'Jensen-Shannon distance (categorical columns).',
  avg_delta double comment 'Change of the mean (numeric columns).'
)
comment 'Columns of the monitored gold tables whose value distribution drifted in a window (PSI over params monitoring.drift.psi_threshold with a significant KS or chi-squared test), from the <table>_drift_metrics tables. BEST FOR: "which columns drifted this week?", "did query sizes change distribution?", "drift alerts per table". NOT FOR: row counts per day (get_table_completeness), single odd values (get_profile_outliers). Strongest drift first.'
return
  select /*+ REPARTITION(1) */ d.table_key as table_key, d.column_name as column_name, d.granularity as granularity,
    d.window_start as window_start, d.drift_type as drift_type, round(d.population_stability_index, 3) as population_stability_index,
    round(d.ks_statistic, 3) as ks_statistic, d.ks_pvalue as ks_pvalue, d.chi_squared_pvalue as chi_squared_pvalue,
    round(d.js_distance, 3) as js_distance, d.avg_delta as avg_delta
  from {ops.monitor_drift} as d
  where d.is_drifted
    and (start_date is null or cast(d.window_start as date) >= start_date)
    and (end_date is null or cast(d.window_start as date) <= end_date)
    and (drift_type is null or d.drift_type = drift_type)
    and (table_filter is null or contains(d.table_key, table_filter))
  order by population_stability_index desc, d.table_key, d.column_name, d.window_start
