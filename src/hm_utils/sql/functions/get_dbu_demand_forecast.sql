create or replace function {semantic}.get_dbu_demand_forecast(
  start_date date default {today} comment 'First forecast UTC day returned. Default: today.',
  end_date date default {today} + interval 7 days comment 'Last forecast UTC day returned. Default: 7 days ahead.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  family string default null comment 'SKU family to keep (JOBS, SQL, ALL_PURPOSE, DLT, MODEL_SERVING, ...); NULL (default) = all.'
)
returns table (
  forecast_date date comment 'Forecast UTC day.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  sku_family string comment 'Product family.',
  horizon_days int comment 'Days ahead of the last complete day (1 = the next day).',
  forecast_dbus double comment 'Forecast DBUs of the day.',
  seasonal_naive_dbus double comment 'DBUs of the same weekday a week before: the simple forecast the model is compared with.',
  recent_mean_dbus double comment 'Mean daily DBUs of the last 7 complete days.',
  model_version string comment 'Champion version of dbu_demand_predictor that scored.',
  scored_at timestamp comment 'When the forecast was made (UTC).'
)
comment 'DBUs expected on each of the next 7 days per workspace and SKU family, from the ML DBU demand predictor (gradient boosting on the recent days and the weekday). Its held-out MAE against the seasonal naive forecast is in get_ml_model_quality. BEST FOR: "how many DBUs will we use next week?", "which workspace will need the most jobs compute in the coming days?", "capacity planning per product". NOT FOR: money (get_cost_forecast), past usage (get_daily_cost_summary, mv_usage_daily). Empty until the ML steps have run.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  )
  select
    d.forecast_date as forecast_date,
    d.workspace_id as workspace_id,
    coalesce(w.workspace_name, d.workspace_id) as workspace_name,
    d.sku_family as sku_family,
    d.horizon_days as horizon_days,
    d.forecast_dbus as forecast_dbus,
    d.seasonal_naive_dbus as seasonal_naive_dbus,
    d.recent_mean_dbus as recent_mean_dbus,
    d.model_version as model_version,
    d.scored_at as scored_at
  from {ml.pred_dbu_demand} as d
  left join ws as w on w.workspace_id = d.workspace_id
  where d.forecast_date between start_date and end_date
    and (workspace is null or d.workspace_id = workspace or w.workspace_name = workspace)
    and (family is null or d.sku_family = family)
  order by forecast_date, workspace_id, sku_family
