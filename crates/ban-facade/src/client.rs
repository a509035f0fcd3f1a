//! The client: single calls, the banned-members stream, and the plumbing
//! of ban-sign's cached signer into ban-transport.

use std::pin::Pin;
use std::sync::Arc;

use ban_proto::{
    BanListRequest, BannedAccount, Command, Description, GetNoSpeakingRequest, GroupId,
    KickRequest, MuteAll, MuteAllRequest, MuteDuration, MutedAccount, MutedListRequest,
    NoSpeakingRequest, NoSpeakingState, OnlineCountRequest, PageLimit, PageOffset, RoomMember,
    RoomMembersRequest, UserSig,
};
use ban_sign::CachedSigner;
use ban_transport::{CallError, Credentials, CredentialsError, Outcome, Transport};
use futures_util::Stream;

use crate::input::InputError;

/// ban-sign's cached signer as ban-transport's credentials provider: what
/// [`Client`] plugs in, public for those who build a `Transport` themselves.
///
/// ```
/// use std::sync::Arc;
/// use ban_facade::SignerCredentials;
/// use ban_sign::{CachedSigner, RenewPolicy, SecretKey, Signer};
/// use ban_transport::Transport;
///
/// let signer = CachedSigner::new("administrator", Signer::new(1400000000, SecretKey::new("key")), RenewPolicy::default());
/// let transport = Transport::builder(SignerCredentials::new(Arc::new(signer))).build()?;
/// # Ok::<(), ban_transport::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SignerCredentials(Arc<CachedSigner>);

impl SignerCredentials {
    /// Wraps a cached signer.
    pub fn new(signer: Arc<CachedSigner>) -> Self {
        SignerCredentials(signer)
    }
}

impl Credentials for SignerCredentials {
    fn sdkappid(&self) -> u64 {
        self.0.sdkappid()
    }
    fn identifier(&self) -> &str {
        self.0.identifier()
    }
    fn usersig(&self) -> Result<UserSig, CredentialsError> {
        Ok(self.0.usersig())
    }
}

/// The ban client: cheap to clone, safe to share across tasks.
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Transport,
    signer: Arc<CachedSigner>,
    pub(crate) max_in_flight: usize,
}

impl Client {
    /// The identifier every call is made as (the app admin).
    pub(crate) fn admin_id(&self) -> &str {
        self.signer.identifier()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.transport)
            .field("signer", &self.signer)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// A boxed stream of banned members.
pub type BannedStream = Pin<Box<dyn Stream<Item = Result<BannedAccount, CallError>> + Send>>;

impl Client {
    pub(crate) fn new(
        transport: Transport,
        signer: Arc<CachedSigner>,
        max_in_flight: usize,
    ) -> Self {
        Client {
            transport,
            signer,
            max_in_flight,
        }
    }

    /// The transport underneath, for calls this client does not wrap.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends one request of any command through the signed transport.
    pub async fn call<C: Command>(&self, request: &C) -> Result<Outcome<C::Response>, CallError> {
        self.transport.call(request).await
    }

    /// The current admin UserSig (renewed before expiry).
    pub fn usersig(&self) -> UserSig {
        self.signer.usersig()
    }

    /// Every banned member of a group, page by page (100 a page), as a
    /// stream. A page that fails ends the stream with its error.
    pub fn banned_members(&self, group: &str) -> Result<BannedStream, InputError> {
        let group = GroupId::new(group.to_owned())?;
        let client = self.clone();
        struct Paging {
            client: Client,
            group: GroupId<'static>,
            offset: Option<PageOffset>,
            page: std::vec::IntoIter<BannedAccount>,
        }
        let start = Paging {
            client,
            group,
            offset: Some(PageOffset(0)),
            page: Vec::new().into_iter(),
        };
        let stream = futures_util::stream::try_unfold(start, |mut st| async move {
            loop {
                if let Some(next) = st.page.next() {
                    return Ok(Some((next, st)));
                }
                let Some(offset) = st.offset else {
                    return Ok(None);
                };
                let (banned, next) = st.client.ban_page(&st.group, offset).await?;
                st.offset = next;
                st.page = banned.into_iter();
            }
        });
        Ok(Box::pin(stream))
    }

    /// One page of a group's ban list from `offset`, and the next page's
    /// offset (none after the last).
    pub(crate) async fn ban_page(
        &self,
        group: &GroupId<'static>,
        offset: PageOffset,
    ) -> Result<(Vec<BannedAccount>, Option<PageOffset>), CallError> {
        let req = BanListRequest {
            group_id: group.reborrow(),
            offset,
            limit: PageLimit::MAX,
        };
        let page = self.transport.call(&req).await?.response;
        // 0 means no more pages, and so does an empty page (the documented
        // sample answers a non-zero NextOffset on its last page); an offset
        // that does not advance would loop forever.
        let next =
            (page.next_offset > offset && !page.banned.is_empty()).then_some(page.next_offset);
        Ok((page.banned, next))
    }

    /// Every muted member of a group with the end of the mute (4294967295
    /// for a permanent one), in one call (the service does not page it).
    /// The group ID is checked first; the call runs when awaited.
    pub fn muted_members(
        &self,
        group: &str,
    ) -> Result<
        impl std::future::Future<Output = Result<Vec<MutedAccount>, CallError>> + Send + 'static,
        InputError,
    > {
        self.on_group(group, |client, group_id| async move {
            let req = MutedListRequest {
                group_id,
                topic_id: None,
            };
            Ok(client.transport.call(&req).await?.response.muted)
        })
    }

    /// Freezes a room (`MuteAll::On`: every member but the owner and the
    /// admins silenced) or thaws it (`MuteAll::Off`): one
    /// `modify_group_base_info` call, whatever the room's size. The group
    /// ID is checked first; the call runs when awaited.
    pub fn mute_all(
        &self,
        group: &str,
        switch: MuteAll,
    ) -> Result<impl std::future::Future<Output = Result<(), CallError>> + Send + 'static, InputError>
    {
        self.on_group(group, move |client, group_id| async move {
            let req = MuteAllRequest {
                group_id,
                mute_all_member: switch,
            };
            client.transport.call(&req).await.map(|_| ())
        })
    }

    /// How many members of a live room are online
    /// (`get_online_member_num`; the service refreshes it every 10 s). The
    /// group ID is checked first; the call runs when awaited.
    pub fn online_members(
        &self,
        group: &str,
    ) -> Result<
        impl std::future::Future<Output = Result<u64, CallError>> + Send + 'static,
        InputError,
    > {
        self.on_group(group, |client, group_id| async move {
            let req = OnlineCountRequest { group_id };
            Ok(client.transport.call(&req).await?.response.online)
        })
    }

    /// A live room's (or a Community's) online members, newest first, with
    /// when each joined (`get_members`, paged by `Timestamp` to the end;
    /// the service keeps the latest 1,000). A `NextTimestamp` seen before
    /// ends the list (it would loop). The group ID is
    /// checked first; the calls run when awaited.
    pub fn room_members(
        &self,
        group: &str,
    ) -> Result<
        impl std::future::Future<Output = Result<Vec<RoomMember>, CallError>> + Send + 'static,
        InputError,
    > {
        self.on_group(group, |client, group_id| async move {
            let mut all = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let mut timestamp = 0;
            loop {
                let req = RoomMembersRequest {
                    group_id: group_id.reborrow(),
                    timestamp,
                    mark: None,
                };
                let page = client.transport.call(&req).await?.response;
                all.extend(page.members);
                let next = page.next_timestamp;
                // 0 ends; a cursor given before would loop (the pages do
                // not say which way the service's cursor runs).
                if next == 0 || !seen.insert(next) {
                    return Ok(all);
                }
                timestamp = next;
            }
        })
    }

    /// Logs `account` out everywhere (`im_open_login_svc/kick`): every
    /// UserSig it holds stops working; a fresh one logs in again. The
    /// account is checked first; the call runs when awaited.
    pub fn kick(
        &self,
        account: &str,
    ) -> Result<impl std::future::Future<Output = Result<(), CallError>> + Send + 'static, InputError>
    {
        let req = KickRequest::new(account.to_owned())?;
        let client = self.clone();
        Ok(async move { client.transport.call(&req).await.map(|_| ()) })
    }

    /// Silences `account` in every group of the app for `group` and in
    /// one-to-one messages for `c2c` (`setnospeaking`; `MuteDuration::LIFT`
    /// lifts, `PERMANENT` is for good, `None` leaves that one as it is).
    /// Its group messages then fail with 10017 before any callback. The
    /// account and the times are checked first; the call runs when awaited.
    pub fn set_no_speaking(
        &self,
        account: &str,
        group: Option<MuteDuration>,
        c2c: Option<MuteDuration>,
    ) -> Result<impl std::future::Future<Output = Result<(), CallError>> + Send + 'static, InputError>
    {
        let req = NoSpeakingRequest::new(account.to_owned(), group, c2c)?;
        let client = self.clone();
        Ok(async move { client.transport.call(&req).await.map(|_| ()) })
    }

    /// What is left of `account`'s app-wide silences (`getnospeaking`):
    /// seconds for group and one-to-one messages, 4294967295 for good, 0
    /// for none.
    pub fn no_speaking(
        &self,
        account: &str,
    ) -> Result<
        impl std::future::Future<Output = Result<NoSpeakingState, CallError>> + Send + 'static,
        InputError,
    > {
        let req = GetNoSpeakingRequest::new(account.to_owned())?;
        let client = self.clone();
        Ok(async move { Ok(client.transport.call(&req).await?.response) })
    }

    /// A call on one group: the group ID checked now, `call` made with a
    /// clone of this client when the future is awaited.
    fn on_group<T, F, Fut>(&self, group: &str, call: F) -> Result<Fut, InputError>
    where
        F: FnOnce(Client, GroupId<'static>) -> Fut,
        Fut: std::future::Future<Output = Result<T, CallError>> + Send + 'static,
    {
        let group = GroupId::new(group.to_owned())?;
        Ok(call(self.clone(), group))
    }

    pub(crate) fn validate_description(
        d: Option<&str>,
    ) -> Result<Option<Description<'static>>, InputError> {
        Ok(d.map(|d| Description::new(d.to_owned())).transpose()?)
    }
}
