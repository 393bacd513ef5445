// Seed chapter, section 4.2, "エラーハンドリング付き並行処理".
use anyhow::Result;

async fn fetch_user(id: u64) -> Result<String> {
    // API呼び出しをシミュレート
    tokio::time::sleep(tokio::time::Duration::from_millis(50)).await;
    Ok(format!("User#{}", id))
}

async fn fetch_profile(id: u64) -> Result<String> {
    tokio::time::sleep(tokio::time::Duration::from_millis(80)).await;
    Ok(format!("Profile#{}", id))
}

#[tokio::main]
async fn main() -> Result<()> {
    // try_join! — いずれかがエラーなら即座に返す
    let (user, profile) = tokio::try_join!(
        fetch_user(1),
        fetch_profile(1),
    )?;

    println!("{}, {}", user, profile);

    // JoinSet — 動的にタスクを追加して全完了を待つ
    let mut set = tokio::task::JoinSet::new();
    for id in 1..=5 {
        set.spawn(fetch_user(id));
    }

    while let Some(result) = set.join_next().await {
        let user = result??;
        println!("取得: {}", user);
    }

    Ok(())
}
