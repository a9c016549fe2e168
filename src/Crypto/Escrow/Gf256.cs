namespace TeamComms.Crypto.Escrow;

/// <summary>
/// Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B), through log and exp tables of the
/// generator 3. Shares are split and combined offline in a ceremony, so table lookups (not constant time) are fine.
/// </summary>
internal static class Gf256
{
    private static readonly byte[] s_exp = new byte[510];
    private static readonly byte[] s_log = new byte[256];

    static Gf256()
    {
        var x = 1;
        for (var i = 0; i < 255; i++)
        {
            s_exp[i] = (byte)x;
            s_exp[i + 255] = (byte)x;
            s_log[x] = (byte)i;
            // multiply by the generator 3: x*2 xor x, reduced by 0x11B
            var doubled = x << 1;
            if ((doubled & 0x100) != 0)
            {
                doubled ^= 0x11B;
            }
            x = doubled ^ x;
        }
    }

    public static byte Add(byte a, byte b) => (byte)(a ^ b);

    public static byte Mul(byte a, byte b) => a == 0 || b == 0 ? (byte)0 : s_exp[s_log[a] + s_log[b]];

    public static byte Div(byte a, byte b)
    {
        if (b == 0)
        {
            throw new DivideByZeroException();
        }
        return a == 0 ? (byte)0 : s_exp[s_log[a] + 255 - s_log[b]];
    }

    /// <summary>Evaluates the polynomial with coefficients <paramref name="coefficients"/> (constant first) at <paramref name="x"/>.</summary>
    public static byte Evaluate(ReadOnlySpan<byte> coefficients, byte x)
    {
        byte result = 0;
        for (var i = coefficients.Length - 1; i >= 0; i--)
        {
            result = Add(Mul(result, x), coefficients[i]);
        }
        return result;
    }

    /// <summary>Lagrange interpolation at <paramref name="at"/> through the points (xs[i], ys[i]).</summary>
    public static byte Interpolate(ReadOnlySpan<byte> xs, ReadOnlySpan<byte> ys, byte at)
    {
        byte result = 0;
        for (var j = 0; j < xs.Length; j++)
        {
            byte basis = 1;
            for (var m = 0; m < xs.Length; m++)
            {
                if (m != j)
                {
                    basis = Mul(basis, Div(Add(at, xs[m]), Add(xs[j], xs[m])));
                }
            }
            result = Add(result, Mul(ys[j], basis));
        }
        return result;
    }
}
