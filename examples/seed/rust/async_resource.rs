// Seed chapter, section 10.4, "非同期リソース管理 (Drop と非同期)".
/// 非同期クリーンアップが必要なリソースの管理パターン
struct AsyncResource {
    name: String,
    // 非同期クリーンアップ用のシグナル
    cleanup_tx: Option<tokio::sync::oneshot::Sender<()>>,
}

impl AsyncResource {
    async fn new(name: &str) -> Self {
        println!("リソース '{}' を作成", name);
        let (tx, rx) = tokio::sync::oneshot::channel();

        // バックグラウンドでクリーンアップ待機
        let resource_name = name.to_string();
        tokio::spawn(async move {
            let _ = rx.await;
            // 非同期クリーンアップ処理
            println!("リソース '{}' の非同期クリーンアップ完了", resource_name);
        });

        AsyncResource {
            name: name.to_string(),
            cleanup_tx: Some(tx),
        }
    }

    async fn use_resource(&self) {
        println!("リソース '{}' を使用中", self.name);
        tokio::time::sleep(tokio::time::Duration::from_millis(100)).await;
    }
}

impl Drop for AsyncResource {
    fn drop(&mut self) {
        // Drop は同期なので、シグナルを送ってバックグラウンドタスクに委譲
        if let Some(tx) = self.cleanup_tx.take() {
            let _ = tx.send(());
        }
        println!("リソース '{}' をドロップ (同期部分)", self.name);
    }
}

// main added: the chapter shows only the type
#[tokio::main]
async fn main() {
    let resource = AsyncResource::new("db").await;
    resource.use_resource().await;
    drop(resource);
    // クリーンアップタスクに実行の機会を与える (ランタイム終了前に)
    tokio::time::sleep(tokio::time::Duration::from_millis(100)).await;
}
