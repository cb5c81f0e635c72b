select viewer_id, name, country, signed_up_at
from {{ source('oltp', 'cinema_viewers') }}
