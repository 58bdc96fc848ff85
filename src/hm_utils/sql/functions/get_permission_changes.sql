create or replace function {semantic}.get_permission_changes(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep (0 = account level); NULL (default) = all.',
  admin_only boolean default false comment 'True = only admin and group membership changes; false (default) = also grants and ACL changes.'
)
returns table (
  event_time timestamp comment 'When the change happened (UTC).',
  workspace_id string comment 'Workspace of the change (0 = account level).',
  workspace_name string comment 'Current workspace name.',
  changed_by string comment 'Who made the change.',
  action_name string comment 'Audit action, e.g. setAdmin, addPrincipalToGroup, updatePermissions, changeClusterAcl.',
  change_type string comment 'admin (admin rights or group membership) or permission (grant or ACL change).',
  target string comment 'Who or what was changed: target user, group member, securable or resource id, when logged.',
  target_group string comment 'Group changed (e.g. admins) for group membership changes.',
  is_admins_group boolean comment 'True when the change gives or removes admin rights (setAdmin, removeAdmin, account owner, or the admins group).',
  is_off_hours boolean comment 'True outside 07:00-19:00 UTC on weekdays or at weekends.',
  status_code int comment 'HTTP status of the request (200 = applied).',
  source_ip_address string comment 'Client IP address.'
)
comment 'Permission and admin changes from the audit log: who granted what to whom, admin rights and group membership changes, ACL and Unity Catalog grants, newest first. BEST FOR: "who was made admin this week?", "were there any permission changes last night?", "who changed ACLs on clusters or jobs?". NOT FOR: failed logins (use get_failed_logins), token creation (get_token_activity), a daily count of changes (metric view mv_security_events). One row per change event.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */
    e.event_time as event_time,
    e.workspace_id as workspace_id,
    coalesce(w.workspace_name, e.workspace_id) as workspace_name,
    e.user_email as changed_by,
    e.action_name as action_name,
    case when e.is_admin_change then 'admin' else 'permission' end as change_type,
    coalesce(try_element_at(e.request_params, 'targetUserName'), try_element_at(e.request_params, 'targetUserId'),
      e.securable_full_name, try_element_at(e.request_params, 'resourceId'), try_element_at(e.request_params, 'securable')) as target,
    try_element_at(e.request_params, 'targetGroupName') as target_group,
    (e.action_name in ('setAdmin', 'removeAdmin', 'setAccountAdmin', 'removeAccountAdmin', 'changeAccountOwner')
      or lower(coalesce(try_element_at(e.request_params, 'targetGroupName'), '')) = 'admins') as is_admins_group,
    (hour(e.event_time) < 7 or hour(e.event_time) >= 19 or dayofweek(e.event_time) in (1, 7)) as is_off_hours,
    e.status_code as status_code,
    e.source_ip_address as source_ip_address
  from {gold.fct_audit_events} as e
  left join ws as w on w.workspace_id = e.workspace_id
  where e.event_date between start_date and end_date
    and (e.is_admin_change or (not admin_only and e.is_permission_change))
    and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
  order by event_time desc
