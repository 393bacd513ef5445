// Seed chapter, section 10.1, "グレースフルシャットダウン".
use tokio::sync::watch;
use tokio::time::{sleep, Duration};

async fn graceful_shutdown_example() {
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);

    // ワーカータスク群
    let mut handles = Vec::new();
    for i in 0..4 {
        let mut rx = shutdown_tx.subscribe();
        let handle = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = rx.changed() => {
                        if *rx.borrow() {
                            println!("ワーカー {} がシャットダウン中...", i);
                            // クリーンアップ処理
                            sleep(Duration::from_millis(100)).await;
                            println!("ワーカー {} 停止完了", i);
                            return;
                        }
                    }
                    _ = sleep(Duration::from_secs(1)) => {
                        println!("ワーカー {} 処理中...", i);
                    }
                }
            }
        });
        handles.push(handle);
    }

    // 3秒後にシャットダウン
    sleep(Duration::from_secs(3)).await;
    println!("シャットダウンシグナル送信");
    let _ = shutdown_tx.send(true);

    // 全ワーカーの完了を待つ
    for handle in handles {
        let _ = handle.await;
    }
    println!("全ワーカー停止。プログラム終了。");
}

// main added: the chapter shows only the function
#[tokio::main]
async fn main() {
    graceful_shutdown_example().await;
}
