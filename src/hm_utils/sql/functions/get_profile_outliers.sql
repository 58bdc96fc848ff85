create or replace function {semantic}.get_profile_outliers(
  start_date date default {today} - interval 14 days comment 'First UTC day of daily windows included. Default: 14 days ago.',
  end_date date default {today} comment 'Last UTC day of daily windows included. Default: today.',
  table_filter string default null comment 'Monitored gold table or part of it, e.g. fct_job_runs; NULL (default) = every monitor.',
  min_z double default 3.0 comment 'How many standard deviations from the column usual value counts as an outlier. Default: 3.'
)
returns table (
  table_key string comment 'Monitored gold table.',
  column_name string comment 'Profiled column.',
  window_start timestamp comment 'Start of the daily window (UTC).',
  statistic string comment 'Which statistic is unusual: avg (mean value) or percent_null (share of NULLs).',
  value double comment 'The statistic in this window.',
  usual_value double comment 'Its mean over every daily window of the monitor.',
  z_score double comment 'Standard deviations from the usual value.'
)
comment 'Daily profile statistics (mean value, share of NULLs) of monitored gold columns far from their usual value, from the <table>_profile_metrics tables. BEST FOR: "any unusual values in our gold tables?", "which columns suddenly have NULLs?", "profile outliers this week". NOT FOR: whole-distribution changes (get_drift_alerts), row counts (get_table_completeness). Largest deviation first.'
return
  with daily as (
    select table_key, column_name, window_start, stat.statistic as statistic, stat.value as value
    from {ops.monitor_profiles}
    lateral view explode(array(named_struct('statistic', 'avg', 'value', avg), named_struct('statistic', 'percent_null', 'value', percent_null))) s as stat
    where granularity = '1 day' and column_name <> ':table'
  ),
  scored as (
    select *, avg(value) over (partition by table_key, column_name, statistic) as usual_value,
      stddev(value) over (partition by table_key, column_name, statistic) as spread
    from daily
  )
  select /*+ REPARTITION(1) */ s.table_key as table_key, s.column_name as column_name, s.window_start as window_start,
    s.statistic as statistic, s.value as value, round(s.usual_value, 4) as usual_value,
    round((s.value - s.usual_value) / s.spread, 2) as z_score
  from scored as s
  where s.spread > 0 and abs(s.value - s.usual_value) / s.spread >= coalesce(min_z, 3.0)
    and (start_date is null or cast(s.window_start as date) >= start_date)
    and (end_date is null or cast(s.window_start as date) <= end_date)
    and (table_filter is null or contains(s.table_key, table_filter))
  order by abs(z_score) desc, s.table_key, s.column_name, s.window_start
