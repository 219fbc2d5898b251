using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace CyberCoop.Gateway.WebConsole;

/// <summary>
/// Builds one HTML page. Every value from the node (ids, reasons, indicator values) goes through <see cref="Text"/>,
/// which HTML-encodes it; <see cref="Raw"/> is only for the console's own markup. No inline scripts or styles.
/// </summary>
internal sealed class ConsoleHtml
{
    private readonly StringBuilder _html = new();

    /// <summary>The console's own markup, as is.</summary>
    public ConsoleHtml Raw(string markup)
    {
        _html.Append(markup);
        return this;
    }

    /// <summary>A value, HTML-encoded.</summary>
    public ConsoleHtml Text(string? value)
    {
        _html.Append(HtmlEncoder.Default.Encode(value ?? ""));
        return this;
    }

    /// <summary>An element with encoded text and an optional class.</summary>
    public ConsoleHtml Element(string tag, string? value, string? cssClass = null)
    {
        _html.Append('<').Append(tag);
        if (cssClass is not null)
        {
            _html.Append(" class=\"").Append(cssClass).Append('"');
        }

        _html.Append('>');
        Text(value);
        _html.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>A table cell with encoded text.</summary>
    public ConsoleHtml Cell(string? value, string? cssClass = null) => Element("td", value, cssClass);

    /// <summary>A table cell holding a number.</summary>
    public ConsoleHtml Cell(long value) => Element("td", value.ToString("N0", CultureInfo.InvariantCulture), "num");

    /// <summary>A link with an encoded address and text.</summary>
    public ConsoleHtml Link(string href, string? text, string? cssClass = null)
    {
        _html.Append("<a href=\"").Append(HtmlEncoder.Default.Encode(href)).Append('"');
        if (cssClass is not null)
        {
            _html.Append(" class=\"").Append(cssClass).Append('"');
        }

        _html.Append('>');
        Text(text);
        _html.Append("</a>");
        return this;
    }

    /// <summary>A header row.</summary>
    public ConsoleHtml HeaderRow(params string[] headers)
    {
        _html.Append("<thead><tr>");
        foreach (var header in headers)
        {
            Element("th", header);
        }

        _html.Append("</tr></thead>");
        return this;
    }

    /// <summary>A definition-list entry.</summary>
    public ConsoleHtml Term(string term, string? value, string? cssClass = null)
    {
        Element("dt", term);
        return Element("dd", value, cssClass);
    }

    /// <summary>A time as <c>yyyy-MM-dd HH:mm:ss UTC</c>, or a dash.</summary>
    public static string Time(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "-";

    /// <summary>A span as <c>3d 4h</c>, <c>2h 5m</c>, <c>4m 10s</c> or <c>12s</c>.</summary>
    public static string Span(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            return "-" + Span(-span);
        }

        return span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h"
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes}m"
            : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m {span.Seconds}s"
            : $"{span.Seconds}s";
    }

    /// <summary>A number with thousands separators.</summary>
    public static string Number(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);

    public override string ToString() => _html.ToString();
}
