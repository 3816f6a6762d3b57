//! Cluster, broker and name server subcommands: status, config, write permission, KV config.

use std::collections::BTreeMap;

use client::Result;
use client::admin::Admin;
use client::admin::table::Table;
use serde_json::Value;

use super::targets;
use crate::cli::Target;
use crate::output::Output;

/// `clusterList`: every broker of the cluster(s), with runtime stats.
pub(super) async fn cluster_list(
    admin: &Admin,
    cluster: Option<String>,
    more: bool,
) -> Result<Output> {
    let mut t = if more {
        Table::new([
            "Cluster Name",
            "Broker Name",
            "BID",
            "Addr",
            "Version",
            "InTotalToday",
            "OutTotalToday",
            "SPACE",
        ])
    } else {
        Table::new([
            "Cluster Name",
            "Broker Name",
            "BID",
            "Addr",
            "Version",
            "Runtime",
            "SPACE",
        ])
    };
    for b in admin.broker_addrs(cluster.as_deref(), false).await? {
        let info = admin.broker_runtime_info(&b.addr).await.unwrap_or_default();
        let get = |k: &str| info.get(k).cloned().unwrap_or_else(|| "-".into());
        let mut row = vec![
            b.cluster,
            b.broker_name,
            b.broker_id.to_string(),
            b.addr,
            get("brokerVersionDesc"),
        ];
        if more {
            row.extend([get("msgPutTotalTodayNow"), get("msgGetTotalTodayNow")]);
        } else {
            row.push(get("runtime"));
        }
        row.push(get("commitLogDiskRatio"));
        t.row(row);
    }
    Ok(Output::table(t))
}

/// `brokerStatus`: runtime info of the target brokers.
pub(super) async fn broker_status(admin: &Admin, target: Target) -> Result<Output> {
    let addrs = targets(admin, &target).await?;
    let mut t = if addrs.len() > 1 {
        Table::new(["Broker", "Key", "Value"])
    } else {
        Table::new(["Key", "Value"])
    };
    let mut js = serde_json::Map::new();
    for addr in &addrs {
        let info = admin.broker_runtime_info(addr).await?;
        for (k, v) in &info {
            if addrs.len() > 1 {
                t.row([addr.clone(), k.clone(), v.clone()]);
            } else {
                t.row([k.clone(), v.clone()]);
            }
        }
        js.insert(addr.clone(), serde_json::to_value(info)?);
    }
    Ok(Output {
        text: t.render(),
        json: Value::Object(js),
    })
}

/// `getBrokerConfig`: the config of the target brokers.
pub(super) async fn get_broker_config(admin: &Admin, target: Target) -> Result<Output> {
    let mut configs = Vec::new();
    for addr in targets(admin, &target).await? {
        let cfg = admin.broker_config(&addr).await?;
        configs.push((addr, cfg));
    }
    config_listing(configs)
}

/// Each server's config as `key = value` lines under a `====addr====` banner, as Apache's
/// tool prints them; JSON: `{addr: {key: value}}`.
fn config_listing(configs: Vec<(String, BTreeMap<String, String>)>) -> Result<Output> {
    let mut text = String::new();
    let mut js = serde_json::Map::new();
    for (addr, cfg) in configs {
        text.push_str(&format!("============{addr}============\n"));
        let w = cfg.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in &cfg {
            text.push_str(&format!("{k:<w$} = {v}\n"));
        }
        js.insert(addr, serde_json::to_value(cfg)?);
    }
    Ok(Output {
        text,
        json: Value::Object(js),
    })
}

/// `updateBrokerConfig`: set one config key on the target brokers.
pub(super) async fn update_broker_config(
    admin: &Admin,
    target: Target,
    key: String,
    value: String,
) -> Result<Output> {
    let props: BTreeMap<String, String> = [(key, value)].into();
    let mut lines = Vec::new();
    for addr in targets(admin, &target).await? {
        admin.update_broker_config(&addr, &props).await?;
        lines.push(format!("update broker config success, {addr}"));
    }
    Ok(Output::lines(lines))
}

/// `wipeWritePerm`: take write permission away from a broker in every name server.
pub(super) async fn wipe_write_perm(admin: &Admin, broker: String) -> Result<Output> {
    let lines = admin
        .wipe_write_perm(&broker)
        .await?
        .into_iter()
        .map(|(ns, n)| format!("wipe write perm of broker[{broker}] in name server[{ns}] OK, {n}"))
        .collect();
    Ok(Output::lines(lines))
}

/// `addWritePerm`: give write permission back to a broker in every name server.
pub(super) async fn add_write_perm(admin: &Admin, broker: String) -> Result<Output> {
    let lines = admin
        .add_write_perm(&broker)
        .await?
        .into_iter()
        .map(|(ns, n)| format!("add write perm of broker[{broker}] in name server[{ns}] OK, {n}"))
        .collect();
    Ok(Output::lines(lines))
}

/// `updateKvConfig`: set a name server KV config entry.
pub(super) async fn update_kv_config(
    admin: &Admin,
    namespace: String,
    key: String,
    value: String,
) -> Result<Output> {
    admin.put_kv_config(&namespace, &key, &value).await?;
    Ok(Output::lines(vec![
        "update kv config in namespace success.".into(),
    ]))
}

/// `deleteKvConfig`: delete a name server KV config entry.
pub(super) async fn delete_kv_config(
    admin: &Admin,
    namespace: String,
    key: String,
) -> Result<Output> {
    admin.delete_kv_config(&namespace, &key).await?;
    Ok(Output::lines(vec![
        "delete kv config from namespace success.".into(),
    ]))
}

/// `getNamesrvConfig`: the config of every name server.
pub(super) async fn get_namesrv_config(admin: &Admin) -> Result<Output> {
    config_listing(admin.namesrv_config().await?)
}

/// `updateNamesrvConfig`: set one config key on every name server.
pub(super) async fn update_namesrv_config(
    admin: &Admin,
    key: String,
    value: String,
) -> Result<Output> {
    let addrs = admin.update_namesrv_config(&[(key, value)].into()).await?;
    Ok(Output::lines(vec![format!(
        "update name server config success!{addrs:?}"
    )]))
}
