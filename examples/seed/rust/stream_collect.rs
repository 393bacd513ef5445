// Seed chapter, section 10.2, "非同期イテレーション (for await 的パターン)".
use tokio::sync::mpsc;
use tokio_stream::{wrappers::ReceiverStream, StreamExt};

async fn async_iteration_example() {
    let (tx, rx) = mpsc::channel::<i32>(32);

    // プロデューサー
    tokio::spawn(async move {
        for i in 0..20 {
            let _ = tx.send(i).await;
            tokio::time::sleep(tokio::time::Duration::from_millis(50)).await;
        }
    });

    // コンシューマー: Stream として処理
    let stream = ReceiverStream::new(rx);
    let results: Vec<i32> = stream
        .filter(|x| *x % 2 == 0)       // 偶数のみ
        .map(|x| x * x)                 // 二乗
        .take(5)                         // 最初の5つ
        .collect()
        .await;

    println!("結果: {:?}", results); // [0, 4, 16, 36, 64]
}

// main added: the chapter shows only the function
#[tokio::main]
async fn main() {
    async_iteration_example().await;
}
