create or replace function {semantic}.get_cost_anomalies_ml(
  start_date date default {today} - interval 30 days comment 'First UTC day returned. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day returned. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  flagged_only boolean default true comment 'True (default) = only days the model flags; false = every scored day, most unusual first.'
)
returns table (
  rank int comment 'Position by anomaly score, 1 = most unusual.',
  usage_date date comment 'UTC day.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  sku_family string comment 'Product family (ALL_PURPOSE, JOBS, SQL, DLT, MODEL_SERVING, ...).',
  list_cost double comment 'List cost of the family in the workspace that day (account currency).',
  expected_list_cost double comment 'Median cost of the same weekday in the 4 weeks before: what was expected.',
  excess_list_cost double comment 'list_cost - expected_list_cost (account currency).',
  zscore_28 double comment 'Z-score against the 28 days before (the simple rule view of the same day).',
  anomaly_score double comment 'Isolation Forest score, higher = more unusual.',
  is_anomaly boolean comment 'True when the model flags the day (score over its operating threshold, cost up, above the dollar floor).',
  model_version string comment 'Champion version of cost_anomaly_detector that scored.'
)
comment 'Unusual daily spend per workspace and SKU family found by the ML cost anomaly detector (Isolation Forest over weekday-aware residuals, with a dollar floor so tiny series are never flagged). Scored against labelled incidents in get_ml_model_quality; the statistics-only get_cost_anomalies is its baseline. BEST FOR: "were there unusual cost days last month?", "which workspace and product spiked?", "how much did a spike cost above normal?". NOT FOR: slow trends (get_workspace_cost_trend), what will be spent (get_cost_forecast). Empty until the ML steps have run; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  scored as (
    select a.*, coalesce(w.workspace_name, a.workspace_id) as ws_name
    from {ml.pred_cost_anomalies} as a
    left join ws as w on w.workspace_id = a.workspace_id
    where a.usage_date between start_date and end_date
      and (not flagged_only or a.is_anomaly)
      and (workspace is null or a.workspace_id = workspace or w.workspace_name = workspace)
  )
  select
    cast(row_number() over (order by s.anomaly_score desc, s.usage_date, s.workspace_id, s.sku_family) as int) as rank,
    s.usage_date as usage_date,
    s.workspace_id as workspace_id,
    s.ws_name as workspace_name,
    s.sku_family as sku_family,
    s.list_cost as list_cost,
    s.expected_cost as expected_list_cost,
    s.list_cost - s.expected_cost as excess_list_cost,
    s.zscore_28 as zscore_28,
    s.anomaly_score as anomaly_score,
    s.is_anomaly as is_anomaly,
    s.model_version as model_version
  from scored as s
  order by rank
