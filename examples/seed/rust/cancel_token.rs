// Seed chapter, section 10.3, "CancellationToken パターン".
use tokio_util::sync::CancellationToken;
use tokio::time::{sleep, Duration};

async fn cancellation_token_example() {
    let token = CancellationToken::new();

    // 子トークン: 親がキャンセルされると自動的にキャンセル
    let child_token = token.child_token();

    let task = tokio::spawn({
        let token = child_token.clone();
        async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => {
                        println!("キャンセルされました。クリーンアップ中...");
                        // リソース解放など
                        break;
                    }
                    _ = sleep(Duration::from_secs(1)) => {
                        println!("作業中...");
                    }
                }
            }
        }
    });

    // 3秒後にキャンセル
    sleep(Duration::from_secs(3)).await;
    token.cancel();
    let _ = task.await;
    println!("タスクが正常にキャンセルされました");
}

// main added: the chapter shows only the function
#[tokio::main]
async fn main() {
    cancellation_token_example().await;
}
