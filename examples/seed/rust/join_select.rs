// Seed chapter, section 4.1, "join! と select!".
use tokio::time::{sleep, Duration};

async fn task_a() -> String {
    sleep(Duration::from_millis(100)).await;
    "A完了".to_string()
}

async fn task_b() -> String {
    sleep(Duration::from_millis(200)).await;
    "B完了".to_string()
}

async fn task_c() -> String {
    sleep(Duration::from_millis(50)).await;
    "C完了".to_string()
}

#[tokio::main]
async fn main() {
    // join! — 全ての Future を並行実行し、全完了を待つ
    let (a, b, c) = tokio::join!(task_a(), task_b(), task_c());
    println!("{}, {}, {}", a, b, c);
    // 200ms で全完了 (最も遅い task_b に合わせる)

    // select! — 最初に完了した Future の結果を取得
    tokio::select! {
        val = task_a() => println!("Aが先: {}", val),
        val = task_b() => println!("Bが先: {}", val),
        val = task_c() => println!("Cが先: {}", val),
    }
    // "Cが先: C完了" (50ms で最速)
}
