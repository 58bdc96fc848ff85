create or replace function {semantic}.get_cost_forecast(
  start_date date default {today} comment 'First forecast UTC day returned. Default: today.',
  end_date date default {today} + interval 30 days comment 'Last forecast UTC day returned. Default: 30 days ahead.',
  workspace string default null comment 'Workspace id or name; NULL (default) = the whole account (the account series).'
)
returns table (
  forecast_date date comment 'Forecast UTC day.',
  workspace_id string comment 'Workspace id, or "account" for the account total.',
  workspace_name string comment 'Current workspace name ("account" for the account total).',
  forecast_list_cost double comment 'Forecast list cost of the day (account currency).',
  lower_list_cost double comment 'Lower bound of the 80% interval (never below 0).',
  upper_list_cost double comment 'Upper bound of the 80% interval: spend above it is unusual (a dynamic alert threshold).',
  cumulative_forecast_list_cost double comment 'Running total of forecast_list_cost from start_date.',
  model_version string comment 'Champion version of cost_forecaster whose method made the forecast.',
  scored_at timestamp comment 'When the forecast was made (UTC).'
)
comment 'Daily spend forecast with an 80% prediction interval from the ML cost forecaster (Prophet per workspace and for the account: weekly seasonality, trend and holidays; seasonal naive for short histories). Its held-out MAPE and interval coverage against seasonal naive are in get_ml_model_quality. BEST FOR: "what will we spend in the next 30 days?", "what is the forecast for workspace X?", "what daily spend would be unusual?". NOT FOR: past spend (get_daily_cost_summary), month-end budget risk (get_budget_breach_risk), DBUs (get_dbu_demand_forecast). Empty until the ML steps have run; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  forecast as (
    select f.*, coalesce(w.workspace_name, f.workspace_id) as ws_name
    from {ml.pred_cost_forecast} as f
    left join ws as w on w.workspace_id = f.workspace_id
    where f.forecast_date between start_date and end_date
      and ((workspace is null and f.workspace_id = 'account')
        or (workspace is not null and (f.workspace_id = workspace or w.workspace_name = workspace)))
  )
  select
    f.forecast_date as forecast_date,
    f.workspace_id as workspace_id,
    f.ws_name as workspace_name,
    f.forecast_cost as forecast_list_cost,
    f.lower_cost as lower_list_cost,
    f.upper_cost as upper_list_cost,
    sum(f.forecast_cost) over (partition by f.workspace_id order by f.forecast_date) as cumulative_forecast_list_cost,
    f.model_version as model_version,
    f.scored_at as scored_at
  from forecast as f
  order by forecast_date
