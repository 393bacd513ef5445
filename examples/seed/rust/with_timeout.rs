// Seed chapter, section 2.5, "カスタム Future: タイマー付きリトライ".
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use pin_project::pin_project;

/// 内部の Future にタイムアウトを付与する Future
#[pin_project]
struct WithTimeout<F> {
    #[pin]
    future: F,
    #[pin]
    delay: tokio::time::Sleep,
    timed_out: bool,
}

impl<F> WithTimeout<F> {
    fn new(future: F, timeout: std::time::Duration) -> Self {
        WithTimeout {
            future,
            delay: tokio::time::sleep(timeout),
            timed_out: false,
        }
    }
}

impl<F: Future> Future for WithTimeout<F> {
    type Output = Result<F::Output, &'static str>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();

        // まずタイムアウトを確認
        if this.delay.poll(cx).is_ready() {
            return Poll::Ready(Err("タイムアウト"));
        }

        // 本体の Future をポーリング
        match this.future.poll(cx) {
            Poll::Ready(value) => Poll::Ready(Ok(value)),
            Poll::Pending => Poll::Pending,
        }
    }
}

// 使用例
#[tokio::main]
async fn main() {
    let slow_operation = async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        "完了"
    };

    let result = WithTimeout::new(
        slow_operation,
        std::time::Duration::from_secs(2),
    ).await;

    match result {
        Ok(value) => println!("成功: {}", value),
        Err(e) => println!("エラー: {}", e), // "エラー: タイムアウト"
    }
}
