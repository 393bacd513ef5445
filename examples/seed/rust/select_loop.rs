// Seed chapter, section 4.5, "select! の高度な使い方".
use tokio::sync::mpsc;
use tokio::time::{sleep, Duration, interval};

#[tokio::main]
async fn main() {
    let (tx, mut rx) = mpsc::channel::<String>(32);
    let mut heartbeat = interval(Duration::from_secs(5));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);

    // 送信側
    tokio::spawn(async move {
        for i in 0..10 {
            sleep(Duration::from_millis(500)).await;
            let _ = tx.send(format!("メッセージ #{}", i)).await;
        }
    });

    loop {
        tokio::select! {
            // biased; を指定すると、上から順に優先的にチェック
            biased;

            // シャットダウンシグナル (最優先)
            _ = &mut shutdown => {
                println!("Ctrl+C 受信。シャットダウン...");
                break;
            }

            // メッセージ受信
            Some(msg) = rx.recv() => {
                println!("受信: {}", msg);
            }

            // ハートビート
            _ = heartbeat.tick() => {
                println!("ハートビート送信");
            }

            // 全チャネルが閉じた場合
            else => {
                println!("全チャネル閉鎖。終了。");
                break;
            }
        }
    }
}
